/**
 * The backend names the config accepts, without loading any backend: the config schema (and through
 * it the methods, which the live page bundles for the browser) needs the names, not `backend.ts`'s
 * Node-only loaders.
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'onnx-cuda', 'onnx-directml', 'onnx-coreml', 'onnx-webgpu', 'webgpu', 'onnx-cpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** The backends that compute on a GPU (or Apple's Neural Engine): far from busy at a batch of 8. */
export const GPU_BACKENDS: ReadonlySet<BackendName> = new Set(['tensorflow-gpu', 'onnx-cuda', 'onnx-directml', 'onnx-coreml', 'onnx-webgpu', 'webgpu']);
