/**
 * Run-time choice of the backend: which TensorFlow.js backend runs, and whether the model itself
 * runs in ONNX Runtime instead (`onnx-*`: the network's forward and input gradient compiled to ONNX,
 * see `onnx/`; TF.js on wasm still runs parameterization, transforms and the optimizer beside it).
 *
 * Order of preference: tensorflow-gpu (tfjs-node-gpu, CUDA) → tensorflow (tfjs-node, native CPU)
 * → onnx-cuda / onnx-directml / onnx-coreml (ORT with a native GPU provider) → onnx-webgpu (ORT's
 * WebGPU provider, a hardware adapter) → webgpu (TF.js on Dawn, a hardware adapter) → onnx-cpu
 * (ORT's CPU provider) → wasm (XNNPACK) → cpu (plain JS). The native packages are
 * optionalDependencies: where they could not install, their import fails and the next candidate runs.
 * A new backend is one more entry in `CANDIDATES`.
 *
 * onnx-webgpu sits ahead of TF.js's webgpu without a GPU measurement of its own yet: on the H200 of
 * `bench/gpu-results.md`, TF.js WebGPU's step costs the same ~29 ms from batch 1 to 64 on MobileNet
 * (a few hundred dispatches from JavaScript, each a host round trip) and its convolutions are far
 * behind cuDNN (VGG16 at 64: 565 ms against PyTorch's 30 ms); ORT runs the whole forward and
 * backward graph natively, with fused kernels, on the same Dawn. `bench/gpu-check.sh` measures both.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OrtModule, ProviderName } from './onnx/runtime.ts';

import type { BackendChoice, BackendName } from './backend-names.ts';

export { BACKEND_NAMES, GPU_BACKENDS, type BackendChoice, type BackendName } from './backend-names.ts';

export interface BackendCandidate {
  name: BackendName;
  /**
   * Makes the backend available to tf (imports its package, registers it); throws when it cannot.
   * `forced` is true when the user asked for this backend by name (e.g. webgpu then accepts a
   * software adapter). Returns an optional detail for the log (e.g. the GPU adapter).
   */
  load(forced: boolean): Promise<string | void>;
  /** The name tf registers it under. */
  tfName: string;
  /** Whether to try it in `auto` mode (forcing always tries). */
  auto?: boolean;
  /** For `onnx-*`: the ORT execution provider that runs the model (TF.js runs the rest on `tfName`). */
  onnx?: ProviderName;
}

export interface SelectedBackend {
  name: BackendName;
  /** What the backend reported when it loaded (e.g. the GPU adapter), when anything. */
  detail?: string;
  /** Why each earlier candidate was passed over, for the log. */
  skipped: { name: BackendName; reason: string }[];
  /** For `onnx-*`: the ORT execution provider (pass the selection to `createGradientEngine`). */
  onnx?: ProviderName;
}

const require = createRequire(import.meta.url);

async function importOptional(pkg: string): Promise<unknown> {
  // A variable specifier keeps bundlers and tsc from insisting the optional package exists.
  const spec: string = pkg;
  return import(spec);
}

/**
 * What a provider needs before ORT opens it, checked where ORT's own error would not say: CUDA's
 * libraries (which, where, the command that installs a missing one), WebGPU's adapter (hardware
 * only unless forced). Returns a note for the log; throws the reason the provider cannot run.
 */
async function providerPrerequisites(provider: ProviderName, forced: boolean): Promise<string | undefined> {
  if (provider === 'cuda') return (await import('./onnx/cuda-libs.ts')).checkCudaLibraries();
  if (provider === 'webgpu') return (await import('./webgpu.ts')).prepareOrtWebGpu(forced);
  return undefined;
}

/**
 * An ONNX Runtime candidate: the provider's prerequisites, ORT imports (`loadOrt`), the provider
 * opens a model, and the wasm backend that runs TF.js beside it loads. `loadOrt` is a parameter so
 * that the selection logic can be tested where ORT is absent.
 */
export function onnxCandidate(provider: ProviderName, loadOrt?: () => Promise<OrtModule>): BackendCandidate {
  return {
    name: `onnx-${provider}`,
    tfName: 'wasm',
    onnx: provider,
    async load(forced) {
      const runtime = await import('./onnx/runtime.ts');
      const ort = await (loadOrt ?? runtime.loadOrt)();
      const note = await providerPrerequisites(provider, forced);
      await runtime.probeProvider(ort, provider);
      await WASM.load(false);
      return `ONNX Runtime, ${provider} provider${note ? ` (${note})` : ''}; TF.js on wasm beside it`;
    },
  };
}

const WASM: BackendCandidate = {
  name: 'wasm',
  tfName: 'wasm',
  async load() {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
  },
};

export const CANDIDATES: BackendCandidate[] = [
  {
    name: 'tensorflow-gpu',
    tfName: 'tensorflow',
    async load() {
      await importOptional('@tensorflow/tfjs-node-gpu');
    },
  },
  {
    name: 'tensorflow',
    tfName: 'tensorflow',
    async load() {
      await importOptional('@tensorflow/tfjs-node');
    },
  },
  onnxCandidate('cuda'),
  onnxCandidate('directml'),
  onnxCandidate('coreml'),
  onnxCandidate('webgpu'),
  {
    name: 'webgpu',
    tfName: 'webgpu',
    async load(forced) {
      const { loadWebGpu } = await import('./webgpu.ts');
      const info = await loadWebGpu({ allowSoftware: forced });
      return info.adapter;
    },
  },
  onnxCandidate('cpu'),
  WASM,
  {
    name: 'cpu',
    tfName: 'cpu',
    async load() {
      // bundled with @tensorflow/tfjs
    },
  },
];

/**
 * Tries candidates in order and activates the first that loads and initialises.
 * `choice` forces one backend (an error names why it failed); `auto` falls through.
 */
export async function selectBackend(choice: BackendChoice = 'auto', candidates: BackendCandidate[] = CANDIDATES): Promise<SelectedBackend> {
  const skipped: SelectedBackend['skipped'] = [];
  const list = choice === 'auto' ? candidates.filter((c) => c.auto !== false) : candidates.filter((c) => c.name === choice);
  if (list.length === 0) {
    throw new Error(`unknown backend "${choice}": expected one of auto, ${candidates.map((c) => c.name).join(', ')}`);
  }
  for (const candidate of list) {
    try {
      const detail = await candidate.load(choice !== 'auto');
      if (!tf.findBackendFactory(candidate.tfName) && !tf.findBackend(candidate.tfName)) {
        throw new Error(`loading it registered no "${candidate.tfName}" backend`);
      }
      const ok = await tf.setBackend(candidate.tfName);
      if (!ok) throw new Error(`tf.setBackend("${candidate.tfName}") failed to initialise`);
      await tf.ready();
      return { name: candidate.name, ...(detail ? { detail } : {}), ...(candidate.onnx ? { onnx: candidate.onnx } : {}), skipped };
    } catch (err) {
      const reason = firstLine(err);
      if (choice !== 'auto') throw new Error(`backend "${choice}" is not available here: ${reason}`, { cause: err });
      skipped.push({ name: candidate.name, reason });
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
}

function firstLine(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 400);
}
