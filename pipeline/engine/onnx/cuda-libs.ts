/**
 * Where ONNX Runtime's CUDA provider finds the CUDA runtime, cuBLAS, cuRAND and cuDNN 9 on Linux:
 * the libraries the provider file names (its DT_NEEDED, read by `elf.ts`; `libcudart.so.12` or
 * `.13` tells the CUDA version) and cuDNN, which it opens at run time.
 *
 * Searched in the order the dynamic loader would (LD_LIBRARY_PATH, its cache from `ldconfig -p`,
 * the system folders), then where CUDA is usually installed but the loader does not look (CUDA_PATH,
 * CUDA_HOME, /usr/local/cuda*), then in the `nvidia-*` packages of python3's site-packages (what
 * PyTorch's CUDA wheels install: `nvidia/<name>/lib`). Libraries found only in the latter need a
 * library path the loader reads once, at process start: `relaunchWithCudaLibraries` starts the CLI
 * again with LD_LIBRARY_PATH set (once: ATLAS_CUDA_LIBS marks the second start).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { neededLibraries } from './elf.ts';

/** Set in the environment of the relaunched process: the folders it added to LD_LIBRARY_PATH. */
export const RELAUNCH_MARK = 'ATLAS_CUDA_LIBS';

export interface FoundLibrary {
  name: string;
  /** The folder it is in; undefined when missing. */
  dir?: string;
  /** Whether the loader finds it by itself (LD_LIBRARY_PATH, its cache, the system folders). */
  loaderFinds: boolean;
}

export interface CudaLibraries {
  /** The CUDA major version the provider was built for (from its libcudart). */
  cuda: number;
  libraries: FoundLibrary[];
  missing: string[];
  /** Folders to add to LD_LIBRARY_PATH, in search order. */
  extraPath: string[];
}

export interface SearchOptions {
  env?: NodeJS.ProcessEnv;
  /** The loader cache's folders per library name (default: `ldconfig -p`). */
  loaderCache?: () => Map<string, string>;
  /** Where toolkits install as cuda or cuda-<version> (default /usr/local). */
  toolkits?: string;
}

const SYSTEM = /^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[\w-]*)\.so/;
const SYSTEM_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** onnxruntime-node's binaries folder for this platform (where its CUDA provider is installed), or undefined without the package. */
export function ortBinDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** The CUDA provider library, when installed (`npm run setup:cuda`). */
export function cudaProviderFile(binDir = ortBinDir()): string | undefined {
  const file = binDir && path.join(binDir, 'libonnxruntime_providers_cuda.so');
  return file && fs.existsSync(file) ? file : undefined;
}

/** The libraries the provider needs beyond the C/C++ runtime: those it names, and cuDNN 9, which it opens at run time. */
export function requiredLibraries(provider: string): string[] {
  const names = neededLibraries(provider).filter((n) => !SYSTEM.test(n) && !n.startsWith('libonnxruntime'));
  if (!names.some((n) => n.startsWith('libcudnn'))) names.push('libcudnn.so.9');
  return names;
}

/** `ldconfig -p`: library file name → folder. Empty where ldconfig is absent (not Linux). */
export function ldconfigCache(): Map<string, string> {
  const cache = new Map<string, string>();
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const text = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
      for (const line of text.split('\n')) {
        const m = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
        if (m && !m[2]!.includes('i386') && !cache.has(m[1]!)) cache.set(m[1]!, path.dirname(m[3]!));
      }
      return cache;
    } catch {
      // next
    }
  }
  return cache;
}

/** Folders where CUDA toolkits (and the driver, in containers and WSL) put their libraries, which the loader does not search unless configured. */
function cudaDirs(env: NodeJS.ProcessEnv, toolkits: string): string[] {
  const roots = [env.CUDA_PATH, env.CUDA_HOME].filter((r): r is string => !!r);
  try {
    roots.push(
      ...fs
        .readdirSync(toolkits)
        .filter((d) => /^cuda(-[\d.]+)?$/.test(d))
        .sort()
        .reverse()
        .map((d) => path.join(toolkits, d)),
    );
  } catch {
    // no /usr/local
  }
  const lib = roots.flatMap((r) => [path.join(r, 'lib64'), path.join(r, 'lib'), path.join(r, 'targets', `${process.arch === 'arm64' ? 'sbsa' : 'x86_64'}-linux`, 'lib')]);
  // The driver's libcuda.so.1 where NVIDIA's container runtime and WSL 2 put it.
  return [...lib, '/usr/local/nvidia/lib64', '/usr/local/nvidia/lib', '/usr/lib/wsl/lib'];
}

/** python3's site-packages folders (ATLAS_PYTHON, else python3 on the PATH), or none without Python. */
export function pythonSitePackages(env: NodeJS.ProcessEnv = process.env): string[] {
  const script = "import site; print('\\n'.join(site.getsitepackages() + [site.getusersitepackages()]))";
  for (const py of [env.ATLAS_PYTHON, 'python3'].filter((p): p is string => !!p)) {
    try {
      return execFileSync(py, ['-c', script], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 })
        .split('\n')
        .filter(Boolean);
    } catch {
      // next
    }
  }
  return [];
}

/** The library folders of the `nvidia-*` packages (`nvidia/<name>/lib`, CUDA 13's `nvidia/cu13/lib`) and torch/lib in those site-packages. */
export function nvidiaPackageDirs(sitePackages: string[]): string[] {
  return sitePackages.flatMap((root) => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(root, 'nvidia')).sort();
    } catch {
      // no nvidia packages here
    }
    return [...names.map((n) => path.join(root, 'nvidia', n, 'lib')), path.join(root, 'torch', 'lib')].filter((d) => fs.existsSync(d));
  });
}

const has = (dir: string, name: string) => fs.existsSync(path.join(dir, name));

/** Where each library is: first where the loader looks by itself, then the CUDA folders, then python3's nvidia packages (asked only when something is still missing). */
export function locateLibraries(names: string[], options: SearchOptions = {}): CudaLibraries {
  const env = options.env ?? process.env;
  const ldPath = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const cache = (options.loaderCache ?? ldconfigCache)();
  const libraries: FoundLibrary[] = names.map((name) => {
    const dir = ldPath.find((d) => has(d, name)) ?? cache.get(name) ?? SYSTEM_DIRS.find((d) => has(d, name));
    return dir ? { name, dir, loaderFinds: true } : { name, loaderFinds: false };
  });
  const search = (dirs: string[]) => {
    for (const lib of libraries) if (!lib.dir) lib.dir = dirs.find((d) => has(d, lib.name));
  };
  search(cudaDirs(env, options.toolkits ?? '/usr/local'));
  if (libraries.some((l) => !l.dir)) search(nvidiaPackageDirs(pythonSitePackages(env)));
  const extraPath = [...new Set(libraries.filter((l) => l.dir && !l.loaderFinds).map((l) => l.dir!))];
  const cudart = names.map((n) => /^libcudart\.so\.(\d+)/.exec(n)).find(Boolean);
  return { cuda: cudart ? Number(cudart[1]) : 12, libraries, missing: libraries.filter((l) => !l.dir).map((l) => l.name), extraPath };
}

/** The pip package that installs a CUDA library, for CUDA `major` (12: the `-cu12` names; 13 dropped the suffix but for cuDNN). */
export function pipPackage(name: string, major: number): string | undefined {
  const suffix = major <= 12 ? `-cu${major}` : '';
  const base = /^lib(\w+?)(Lt)?\.so/.exec(name)?.[1];
  const packages: Record<string, string> = {
    cudart: 'nvidia-cuda-runtime',
    cublas: 'nvidia-cublas',
    curand: 'nvidia-curand',
    cufft: 'nvidia-cufft',
    nvrtc: 'nvidia-cuda-nvrtc',
    nvJitLink: 'nvidia-nvjitlink',
  };
  if (base === 'cudnn') return `nvidia-cudnn-cu${major}`;
  return base && packages[base] ? packages[base] + suffix : undefined;
}

/** Why the libraries cannot be used, as one line with the one command that installs what is missing. */
export function missingReason(found: CudaLibraries): string {
  if (found.missing.includes('libcuda.so.1')) return 'no NVIDIA driver (libcuda.so.1 not found): install the driver for the GPU (nvidia-smi works when it is)';
  const pkgs = [...new Set(found.missing.map((n) => pipPackage(n, found.cuda)).filter(Boolean))];
  const install = pkgs.length ? `; install: python3 -m pip install ${pkgs.join(' ')}` : '';
  return `CUDA ${found.cuda} libraries not found: ${found.missing.join(', ')}${install} (or put their folder on LD_LIBRARY_PATH)`;
}

/** "libcudart.so.13, libcublas.so.13 from DIR; …" for the log. */
export function describeLibraries(found: CudaLibraries): string {
  const byDir = new Map<string, string[]>();
  for (const l of found.libraries) byDir.set(l.dir!, [...(byDir.get(l.dir!) ?? []), l.name]);
  return [...byDir].map(([dir, names]) => `${names.join(', ')} from ${dir}`).join('; ');
}

/**
 * The check the onnx-cuda candidate runs before ORT opens the provider: returns the log's note (the
 * libraries and their folders), or throws the reason it cannot run, with the command that fixes it.
 */
export function checkCudaLibraries(env: NodeJS.ProcessEnv = process.env, binDir = ortBinDir()): string {
  if (process.platform !== 'linux') return 'CUDA libraries as the system finds them';
  const provider = cudaProviderFile(binDir);
  if (!provider) throw new Error('the CUDA provider of ONNX Runtime is not installed: npm run setup:cuda');
  const found = locateLibraries(requiredLibraries(provider), { env });
  if (found.missing.length) throw new Error(missingReason(found));
  if (found.extraPath.length)
    throw new Error(
      `CUDA libraries are in ${found.extraPath.join(':')}, which the loader was not started with: run with LD_LIBRARY_PATH=${found.extraPath.join(':')} (the pipeline command does this itself)`,
    );
  const relaunched = env[RELAUNCH_MARK] ? ` (this process was started again with ${env[RELAUNCH_MARK]} on LD_LIBRARY_PATH)` : '';
  return `CUDA ${found.cuda}: ${describeLibraries(found)}${relaunched}`;
}

/**
 * The environment to start again with, when the CUDA provider is installed and some of its
 * libraries are where only LD_LIBRARY_PATH would show them to the loader; undefined otherwise
 * (nothing to add, something missing: the candidate says what, or this is already the second start).
 */
export function cudaRelaunchEnv(env: NodeJS.ProcessEnv = process.env, binDir = ortBinDir(), search: Omit<SearchOptions, 'env'> = {}): NodeJS.ProcessEnv | undefined {
  if (process.platform !== 'linux' || env[RELAUNCH_MARK] !== undefined) return undefined;
  const provider = cudaProviderFile(binDir);
  if (!provider) return undefined;
  const found = locateLibraries(requiredLibraries(provider), { ...search, env });
  if (!found.extraPath.length) return undefined;
  const ld = [...found.extraPath, ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)].join(':');
  return { ...env, LD_LIBRARY_PATH: ld, [RELAUNCH_MARK]: found.extraPath.join(':') };
}

/**
 * Starts this process again (same pid, `process.execve`) with the CUDA libraries' folders on
 * LD_LIBRARY_PATH when they need it. Call first thing in a command line entry point; returns
 * when no relaunch is needed or possible (Node without execve: the candidate then names the path).
 */
export function relaunchWithCudaLibraries(env: NodeJS.ProcessEnv = process.env, binDir = ortBinDir()): void {
  const next = cudaRelaunchEnv(env, binDir);
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (!next || !execve) return;
  execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], next);
}
