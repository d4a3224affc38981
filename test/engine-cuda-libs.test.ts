/**
 * Finding the CUDA provider's libraries: the names an ELF file needs (read from ONNX Runtime's own
 * binaries), the search through LD_LIBRARY_PATH, CUDA_PATH and the nvidia-* packages of a python3
 * (a fake one on the PATH, printing a site-packages folder made here with files named like the real
 * libraries), the install line for what is missing, the one relaunch with LD_LIBRARY_PATH, and the
 * reason onnx-cuda is skipped on this machine.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CANDIDATES } from '../pipeline/engine/backend.ts';
import { cudaRelaunchEnv, locateLibraries, missingReason, ortBinDir, RELAUNCH_MARK, requiredLibraries } from '../pipeline/engine/onnx/cuda-libs.ts';
import { neededLibraries } from '../pipeline/engine/onnx/elf.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cuda-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Empty files named like libraries, in `dir` (made). */
function libs(dir: string, names: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const n of names) fs.writeFileSync(path.join(dir, n), '');
  return dir;
}

/** A python3 on a PATH of its own that prints `site` as its only site-packages folder. */
function fakePython(site: string): string {
  const bin = path.join(tmp, `bin-${path.basename(site)}`);
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\necho ${site}\n`, { mode: 0o755 });
  return `${bin}:/usr/bin:/bin`;
}

const binding = ortBinDir() && path.join(ortBinDir()!, 'onnxruntime_binding.node');
const noOrt = !binding || !fs.existsSync(binding) ? 'onnxruntime-node is not installed' : false;
/** The machine's own loader cache and /usr/local/cuda* stay out of the fake searches. */
const isolated = { loaderCache: () => new Map<string, string>(), toolkits: path.join(tmp, 'no-toolkits') };

describe('CUDA library discovery', () => {
  it('reads the libraries an ELF file needs', { skip: noOrt }, () => {
    const needed = neededLibraries(binding!);
    assert.ok(needed.includes('libonnxruntime.so.1'), needed.join(', '));
    assert.ok(needed.includes('libc.so.6'));
    const text = path.join(tmp, 'not-elf.so');
    fs.writeFileSync(text, 'just text, long enough to hold an ELF header of sixty-four bytes....');
    assert.throws(() => neededLibraries(text), /not an ELF file/);
  });

  it('finds each library where the loader looks, in CUDA_PATH, or in python3’s nvidia packages, and names the folders to add', () => {
    const driver = libs(path.join(tmp, 'a', 'driver'), ['libcuda.so.1']);
    const cuda = libs(path.join(tmp, 'a', 'cuda', 'lib64'), ['libcudart.so.13', 'libcublas.so.13']);
    const site = path.join(tmp, 'a', 'site-packages');
    const cudnn = libs(path.join(site, 'nvidia', 'cudnn', 'lib'), ['libcudnn.so.9']);
    const cu13 = libs(path.join(site, 'nvidia', 'cu13', 'lib'), ['libcublasLt.so.13', 'libcurand.so.10', 'libcublas.so.13']);
    const env = { PATH: fakePython(site), LD_LIBRARY_PATH: driver, CUDA_PATH: path.join(tmp, 'a', 'cuda') };
    const found = locateLibraries(['libcublasLt.so.13', 'libcublas.so.13', 'libcurand.so.10', 'libcudart.so.13', 'libcuda.so.1', 'libcudnn.so.9'], { env, ...isolated });
    assert.equal(found.cuda, 13);
    assert.deepEqual(found.missing, []);
    assert.deepEqual(
      found.libraries.map((l) => [l.name, l.dir, l.loaderFinds]),
      [
        ['libcublasLt.so.13', cu13, false],
        ['libcublas.so.13', cuda, false], // CUDA_PATH before python's packages
        ['libcurand.so.10', cu13, false],
        ['libcudart.so.13', cuda, false],
        ['libcuda.so.1', driver, true],
        ['libcudnn.so.9', cudnn, false],
      ],
    );
    assert.deepEqual(found.extraPath, [cu13, cuda, cudnn]);
  });

  it('names what is missing and the one pip command that installs it, per CUDA version', () => {
    const site = path.join(tmp, 'b', 'site-packages');
    libs(path.join(site, 'nvidia', 'cuda_runtime', 'lib'), ['libcudart.so.12']);
    const env = { PATH: fakePython(site), LD_LIBRARY_PATH: libs(path.join(tmp, 'b', 'driver'), ['libcuda.so.1']) };
    const twelve = locateLibraries(['libcudart.so.12', 'libcublasLt.so.12', 'libcublas.so.12', 'libcuda.so.1', 'libcudnn.so.9'], { env, ...isolated });
    assert.deepEqual(twelve.missing, ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9']);
    assert.equal(
      missingReason(twelve),
      'CUDA 12 libraries not found: libcublasLt.so.12, libcublas.so.12, libcudnn.so.9; install: python3 -m pip install nvidia-cublas-cu12 nvidia-cudnn-cu12 (or put their folder on LD_LIBRARY_PATH)',
    );
    const thirteen = locateLibraries(['libcudart.so.13', 'libcudnn.so.9'], { env, ...isolated });
    assert.match(missingReason(thirteen), /install: python3 -m pip install nvidia-cuda-runtime nvidia-cudnn-cu13 /);
    const noDriver = locateLibraries(['libcudart.so.12', 'libcuda.so.1'], { env: { PATH: env.PATH }, ...isolated });
    assert.match(missingReason(noDriver), /^no NVIDIA driver \(libcuda\.so\.1 not found\)/);
    // No python3 at all: the other places are still searched, nothing crashes.
    const bare = locateLibraries(['libcudnn.so.9'], { env: { PATH: path.join(tmp, 'nowhere') }, ...isolated });
    assert.deepEqual(bare.missing, ['libcudnn.so.9']);
  });

  it('relaunches once with LD_LIBRARY_PATH when the provider’s libraries are outside the loader’s path', { skip: noOrt }, () => {
    // A provider folder whose "CUDA provider" is a real ELF file (ORT's binding: it needs only ORT's
    // core and the C++ runtime, so cuDNN, opened at run time, is what is left to find).
    const binDir = path.join(tmp, 'c', 'ort-bin');
    fs.mkdirSync(binDir, { recursive: true });
    fs.copyFileSync(binding!, path.join(binDir, 'libonnxruntime_providers_cuda.so'));
    assert.deepEqual(requiredLibraries(path.join(binDir, 'libonnxruntime_providers_cuda.so')), ['libcudnn.so.9']);
    const site = path.join(tmp, 'c', 'site-packages');
    const cudnn = libs(path.join(site, 'nvidia', 'cudnn', 'lib'), ['libcudnn.so.9']);
    const env = { PATH: fakePython(site), LD_LIBRARY_PATH: '/opt/other' };
    const next = cudaRelaunchEnv(env, binDir, isolated)!;
    assert.equal(next.LD_LIBRARY_PATH, `${cudnn}:/opt/other`);
    assert.equal(next[RELAUNCH_MARK], cudnn);
    assert.equal(cudaRelaunchEnv(next, binDir, isolated), undefined, 'the second start does not start again');
    assert.equal(cudaRelaunchEnv(env, path.join(tmp, 'c', 'no-provider'), isolated), undefined, 'no provider, no relaunch');
    // The real thing: a process that calls it is replaced once, and runs on with the path set.
    const script = path.join(tmp, 'c', 'entry.ts');
    const module = path.resolve('pipeline/engine/onnx/cuda-libs.ts');
    fs.writeFileSync(
      script,
      `import { relaunchWithCudaLibraries } from ${JSON.stringify(module)};\nrelaunchWithCudaLibraries(process.env, ${JSON.stringify(binDir)});\nconsole.log(process.pid, process.env.LD_LIBRARY_PATH, process.env.${RELAUNCH_MARK});\n`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1, out);
    assert.match(lines[0]!, new RegExp(`^\\d+ ${cudnn}:/opt/other ${cudnn}$`));
  });

  it('on this machine onnx-cuda is skipped with a reason that says what to do', async () => {
    const cuda = CANDIDATES.find((c) => c.name === 'onnx-cuda')!;
    const err: Error = await cuda.load(false).then(
      () => assert.fail('onnx-cuda loaded: a CUDA GPU and its libraries are here'),
      (e: Error) => e,
    );
    // No provider (npm run setup:cuda), a missing library (the pip line), no driver, or ORT itself absent.
    assert.match(err.message, /npm run setup:cuda|python3 -m pip install|NVIDIA driver|Cannot find (package|module)/, err.message);
  });
});
