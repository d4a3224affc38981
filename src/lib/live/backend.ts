/**
 * The browser's TF.js backend for a live render: WebGPU where the browser has an adapter, else
 * WebGL, else wasm (its `.wasm` files served as static files under `<base>live/wasm/`, see
 * `src/integrations/live-wasm.ts`); or the one the query forces. Each backend's package is loaded
 * only when tried, so the page before the click loads none of them.
 */
import * as tf from '@tensorflow/tfjs';
import type { LiveBackend } from './query.ts';

export interface StartedBackend {
  name: LiveBackend;
  /** Backends tried first, with why they did not start. */
  skipped: { name: LiveBackend; reason: string }[];
}

async function tryBackend(name: LiveBackend, wasmBase: string): Promise<void> {
  if (name === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) throw new Error('this browser has no WebGPU');
    if (!(await gpu.requestAdapter())) throw new Error('no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBase);
  }
  if (!(await tf.setBackend(name))) throw new Error(`${name} did not start`);
  await tf.ready();
}

/** Starts `forced`, or the first of WebGPU, WebGL, wasm that starts; throws when none does. */
export async function startBackend(forced: LiveBackend | undefined, wasmBase: string): Promise<StartedBackend> {
  const order: LiveBackend[] = forced ? [forced] : ['webgpu', 'webgl', 'wasm'];
  const skipped: StartedBackend['skipped'] = [];
  for (const name of order) {
    try {
      await tryBackend(name, wasmBase);
      return { name, skipped };
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
  }
  throw new Error(`no backend started: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
