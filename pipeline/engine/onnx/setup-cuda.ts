/**
 * `npm run setup:cuda [-- --cuda 12|13]`: installs ONNX Runtime's CUDA provider, which `npm ci`
 * leaves out (`.npmrc`: onnxruntime-node-install=skip, 200+ MB), for the CUDA version whose
 * libraries this machine has (libcudart.so.13 found: 13, else 12; see `cuda-libs.ts`):
 * - CUDA 12: onnxruntime-node's own install step (ONNXRUNTIME_NODE_INSTALL=cuda12: ORT's
 *   Microsoft.ML.OnnxRuntime.Gpu.Linux package from NuGet, provider files beside its core);
 * - CUDA 13: ORT publishes no CUDA 13 build for Node, so the provider files of the npm package
 *   com.github.asus4.onnxruntime.linux-x64-gpu (ORT 1.29 built for CUDA 13, ~230 MB) go beside
 *   onnxruntime-node 1.29 (installed with --no-save: a provider loads only into its own ORT version).
 * Then it checks the libraries and prints what `--backend onnx-cuda` will use, or what is missing.
 * `npm ci` undoes it (the lockfile's onnxruntime-node, no provider): run it again after.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cudaProviderFile, describeLibraries, locateLibraries, missingReason, ortBinDir, requiredLibraries } from './cuda-libs.ts';

/** The ORT version the CUDA 13 provider package was built from, and that package. */
export const CUDA13 = { ort: '1.29.0', provider: 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9', files: ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] } as const;

const npm = (args: string[], env: NodeJS.ProcessEnv = process.env) => execFileSync('npm', args, { stdio: 'inherit', env });

/** Copies the provider files out of the CUDA 13 package's tarball (from `npm pack`) into `binDir`. */
export function extractCuda13Provider(tarball: string, binDir: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cuda13-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', dir, ...CUDA13.files.map((f) => `package/Plugins/Linux/x64/${f}`)]);
    for (const f of CUDA13.files) fs.copyFileSync(path.join(dir, 'package', 'Plugins', 'Linux', 'x64', f), path.join(binDir, f));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(args: string[]): number {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log('The CUDA provider is installed this way on Linux x64 only; see docs/gpu.md for Windows (onnx-directml, onnx-webgpu) and macOS (onnx-coreml, onnx-webgpu).');
    return 2;
  }
  const i = args.indexOf('--cuda');
  const asked = i >= 0 ? Number(args[i + 1]) : undefined;
  if (asked !== undefined && asked !== 12 && asked !== 13) {
    console.error(`--cuda: expected 12 or 13, got "${args[i + 1]}"`);
    return 2;
  }
  const has13 = locateLibraries(['libcudart.so.13']).missing.length === 0;
  const cuda = asked ?? (has13 ? 13 : 12);
  console.log(`Installing ONNX Runtime's CUDA ${cuda} provider${asked ? '' : has13 ? ' (libcudart.so.13 found here)' : ' (no libcudart.so.13 found here; --cuda 13 for CUDA 13)'}`);
  try {
    if (cuda === 12) {
      npm(['rebuild', 'onnxruntime-node'], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' });
    } else {
      npm(['install', '--no-save', '--no-audit', '--no-fund', `onnxruntime-node@${CUDA13.ort}`], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' });
      const cache = path.resolve('.atlas-cache');
      fs.mkdirSync(cache, { recursive: true });
      const name = execFileSync('npm', ['pack', CUDA13.provider, '--pack-destination', cache, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
      extractCuda13Provider(path.join(cache, name), ortBinDir()!);
    }
  } catch (err) {
    console.log(`installing the CUDA ${cuda} provider failed: ${(err as Error).message.split('\n')[0]} (npm's messages above say why; the CUDA 12 files come from api.nuget.org)`);
    return 1;
  }
  const provider = cudaProviderFile();
  if (!provider) {
    console.log('the CUDA provider did not install (see the messages above)');
    return 1;
  }
  const found = locateLibraries(requiredLibraries(provider));
  if (found.missing.length) {
    console.log(`the provider is installed, but onnx-cuda cannot run yet: ${missingReason(found)}`);
    return 1;
  }
  const relaunch = found.extraPath.length ? `; the pipeline puts ${found.extraPath.join(':')} on LD_LIBRARY_PATH itself` : '';
  console.log(`onnx-cuda can run (the GPU and driver are checked when it starts): CUDA ${found.cuda}: ${describeLibraries(found)}${relaunch}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) process.exitCode = main(process.argv.slice(2));
