/**
 * WebGPU through Dawn (the optional npm packages `webgpu` and `@tensorflow/tfjs-backend-webgpu`).
 *
 * Dawn picks the platform's native API: Metal on macOS (Apple and AMD GPUs), Vulkan on Linux
 * (NVIDIA, AMD, Intel; needs the vendor's Vulkan driver / libvulkan1), D3D12 on Windows. Only a
 * hardware adapter is used automatically; a software one (Mesa llvmpipe via Dawn's OpenGL
 * backend, SwiftShader, lavapipe) is slower than wasm and is taken only with `allowSoftware`
 * (forcing `--backend webgpu` sets it, and so does the equality test).
 *
 * The backend package registers itself only when `navigator.gpu` exists at import time; here the
 * adapter is found first and the backend registered with that device.
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';

export interface WebGpuOptions {
  allowSoftware?: boolean;
}

export interface WebGpuInfo {
  adapter: string;
  software: boolean;
}

const SOFTWARE = /llvmpipe|softpipe|swiftshader|software|lavapipe|microsoft basic render/i;

/** A readable adapter name from GPUAdapterInfo (fields are getters, not own properties). */
export function adapterName(info: Record<string, unknown> | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = ['vendor', 'architecture', 'device', 'description'].map((k) => info[k]).filter((v) => typeof v === 'string' && v);
  return [...new Set(parts)].join(' ') || 'unknown adapter';
}

export function isSoftwareAdapter(name: string): boolean {
  return SOFTWARE.test(name);
}

let loaded: WebGpuInfo | undefined;

/**
 * Whether this machine shows a GPU device at all. On Linux, Dawn finds hardware adapters through
 * /dev/dri render nodes or NVIDIA's /dev/nvidia* devices; without either only a software adapter
 * can exist, and probing prints Vulkan loader warnings. Other platforms are assumed to have one.
 */
export function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true;
  const has = (dir: string, prefix: string) => {
    try {
      return fs.readdirSync(dir).some((f) => f.startsWith(prefix));
    } catch {
      return false;
    }
  };
  return has('/dev/dri', 'renderD') || has('/dev', 'nvidia');
}

export async function loadWebGpu(options: WebGpuOptions = {}): Promise<WebGpuInfo> {
  if (loaded && (options.allowSoftware || !loaded.software)) return loaded;
  if (!options.allowSoftware && !hasGpuDevice()) throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia*)');
  const dawnSpec: string = 'webgpu';
  const backendSpec: string = '@tensorflow/tfjs-backend-webgpu';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dawn: any = await import(dawnSpec);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const backendModule: any = await import(backendSpec);
  let gpu = dawn.create([]);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let adapter: any = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && options.allowSoftware) {
    // Dawn's OpenGL(ES) backend is "compatibility" only; with Mesa it renders headless on llvmpipe.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    gpu = dawn.create(['backend=opengl']);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  }
  if (!adapter) throw new Error('WebGPU (Dawn) found no GPU adapter (no Vulkan/Metal/D3D12 driver)');
  const name = adapterName(adapter.info);
  const software = isSoftwareAdapter(name) || adapter.info?.adapterType === 'cpu';
  if (software && !options.allowSoftware) throw new Error(`WebGPU adapter "${name}" is a software renderer (slower than wasm)`);
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  Object.assign(globalThis, dawn.globals);
  // The backend checks navigator.gpu when it is constructed.
  const g = globalThis as unknown as { navigator?: object };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  if (tf.findBackend('webgpu') || tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(device, adapter.info), 1);
  loaded = { adapter: name, software };
  return loaded;
}

/**
 * Vulkan drivers (ICD files) that render on the CPU. Dawn, inside ONNX Runtime's WebGPU provider,
 * takes SwiftShader (Chromium ships its Vulkan ICD) but turns Mesa's lavapipe before 25.x away
 * ("Vulkan shaderUniform*ArrayDynamicIndexing required": lavapipe 22.3 lacks the image-array
 * indexing features), and ORT's Linux build has no OpenGL backend to fall back to.
 */
export const SOFTWARE_VULKAN_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/opt/google/chrome/vk_swiftshader_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];

const SOFTWARE_ICD = /swiftshader|lvp_icd|lavapipe|llvmpipe/i;

/** The ICD files the Vulkan loader is told to use (VK_DRIVER_FILES, else VK_ICD_FILENAMES), if any. */
export function vulkanDriverFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  return list ? list.split(':').filter(Boolean) : [];
}

/** The Vulkan driver files (ICDs) installed where the loader looks on Linux. */
export function installedVulkanDrivers(dirs = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d']): string[] {
  return dirs.flatMap((d) => {
    try {
      return fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.json'))
        .map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  });
}

/**
 * Readies ONNX Runtime's WebGPU provider (its own Dawn, on Vulkan / Metal / D3D12), whose adapter
 * JavaScript cannot see. In `auto` (not forced) only a machine with a GPU device qualifies, and not
 * when Vulkan is pointed at software drivers only: a software adapter is slower than the CPU.
 * Forced on a Linux machine without a GPU device, with no driver named, the loader is pointed at
 * the first software ICD present (SwiftShader first: the one Dawn accepts). Returns a note for the
 * log; throws the reason otherwise.
 */
export function prepareOrtWebGpu(forced: boolean, env: NodeJS.ProcessEnv = process.env, icds = SOFTWARE_VULKAN_ICDS): string {
  const named = vulkanDriverFiles(env);
  const softwareOnly = named.length > 0 && named.every((f) => SOFTWARE_ICD.test(f));
  if (!forced) {
    if (!hasGpuDevice()) throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia*)');
    if (softwareOnly) throw new Error(`Vulkan is pointed at software drivers only (${named.join(':')})`);
    // Dawn would fall back to a software driver that it accepts (a newer lavapipe) where the GPU's own is missing.
    const installed = named.length ? named : installedVulkanDrivers();
    if (process.platform === 'linux' && !installed.some((f) => !SOFTWARE_ICD.test(f)))
      throw new Error(`no Vulkan driver for the GPU (${installed.length ? `only ${installed.join(', ')}` : 'none installed'}): install the GPU's Vulkan driver`);
    return 'a hardware adapter';
  }
  if (softwareOnly) return `software Vulkan (${named.join(':')})`;
  if (named.length || process.platform !== 'linux' || hasGpuDevice()) return 'the adapter Dawn picks';
  const icd = icds.find((f) => fs.existsSync(f));
  if (!icd) throw new Error(`no GPU device, and no software Vulkan driver Dawn accepts (SwiftShader: install chromium; looked for ${icds.join(', ')})`);
  env.VK_ICD_FILENAMES = icd;
  return `software Vulkan (${icd}): no GPU device here`;
}
