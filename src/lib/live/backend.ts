/**
 * The browser's TF.js backend for a live render: WebGPU where the browser has a hardware adapter,
 * else WebGL on a hardware renderer, else wasm (a software WebGL or WebGPU, e.g. SwiftShader in a
 * headless browser, is slower than wasm: used only when the query forces it) (its `.wasm` files served as static files under `<base>live/wasm/`, see
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

/** The WebGL renderer's name when it is a software one (SwiftShader, llvmpipe): slower than wasm, so `auto` passes it by. */
function softwareWebgl(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return undefined;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : undefined;
}

interface GpuAdapter {
  isFallbackAdapter?: boolean;
  info?: { description?: string; device?: string };
}

async function tryBackend(name: LiveBackend, wasmBase: string, forced: boolean): Promise<void> {
  if (name === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapter | null> } }).gpu;
    if (!gpu) throw new Error('this browser has no WebGPU');
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter');
    if (!forced && adapter.isFallbackAdapter) throw new Error('only a software adapter (wasm is faster)');
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'webgl') {
    const software = forced ? undefined : softwareWebgl();
    if (software) throw new Error(`software renderer (${software}): wasm is faster`);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBase);
  }
  if (!(await tf.setBackend(name))) throw new Error(`${name} did not start`);
  await tf.ready();
}

/** Starts `forced` (whatever it runs on), or the first of WebGPU, WebGL, wasm that starts on hardware (wasm always); throws when none does. */
export async function startBackend(forced: LiveBackend | undefined, wasmBase: string): Promise<StartedBackend> {
  const order: LiveBackend[] = forced ? [forced] : ['webgpu', 'webgl', 'wasm'];
  const skipped: StartedBackend['skipped'] = [];
  for (const name of order) {
    try {
      await tryBackend(name, wasmBase, forced !== undefined);
      return { name, skipped };
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
  }
  throw new Error(`no backend started: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
