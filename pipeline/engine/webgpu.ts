/**
 * WebGPU through Dawn (the optional npm packages `webgpu` and `@tensorflow/tfjs-backend-webgpu`).
 * Only a hardware adapter is used automatically; a software one (llvmpipe, SwiftShader) is slower
 * than wasm and is taken only when `allowSoftware` is set (the equality test does that).
 */
export interface WebGpuOptions {
  allowSoftware?: boolean;
}

export async function loadWebGpu(options: WebGpuOptions = {}): Promise<{ adapter: string }> {
  const dawnSpec: string = 'webgpu';
  const backendSpec: string = '@tensorflow/tfjs-backend-webgpu';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dawn: any = await import(dawnSpec);
  const gpu = dawn.create([]);
  Object.assign(globalThis, dawn.globals);
  const nav = ((globalThis as unknown as { navigator?: Record<string, unknown> }).navigator ??= {});
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU found no adapter');
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  if (!options.allowSoftware && /llvmpipe|swiftshader|software|lavapipe/i.test(name)) {
    throw new Error(`WebGPU adapter "${name}" is a software renderer (slower than wasm)`);
  }
  await import(backendSpec);
  return { adapter: name };
}
