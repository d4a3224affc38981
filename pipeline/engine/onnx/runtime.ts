/**
 * Loading ONNX Runtime (`onnxruntime-node`, an optional dependency) and its execution providers,
 * typed by the few members this project uses so that the code compiles where the package is absent.
 */
import { GraphBuilder } from './builder.ts';

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  /** 'cpu', or 'gpu-buffer' for an output a session left on the device (`sessionOptionsFor`'s `deviceOutputs`). */
  readonly location?: string;
  /** Frees a device tensor's buffer. */
  dispose?(): void;
}

export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** An execution provider by name, or by name with its options (`{ name: 'webgpu', preferredLayout: 'NHWC' }`). */
export type OrtProviderConfig = string | { readonly name: string; readonly [option: string]: unknown };

export interface OrtSessionOptions {
  executionProviders: OrtProviderConfig[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  /** 0 verbose … 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Outputs to leave on the device ('gpu-buffer': a WebGPU buffer the next run can take as an input). */
  preferredOutputLocation?: Record<string, 'cpu' | 'gpu-buffer'>;
}

export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal' };
}

/** The execution providers an `onnx-*` engine can ask for, by engine suffix. */
export const PROVIDERS = { cpu: 'cpu', cuda: 'cuda', directml: 'dml', coreml: 'coreml', webgpu: 'webgpu' } as const;
export type ProviderName = keyof typeof PROVIDERS;

/**
 * The provider as a session asks for it. WebGPU lays images out NHWC (its convolutions' fast
 * layout; ORT inserts the transposes once per graph, the model stays NCHW inside). CUDA takes
 * device 0 of those CUDA_VISIBLE_DEVICES leaves visible.
 */
export function providerConfig(provider: ProviderName): OrtProviderConfig {
  if (provider === 'webgpu') return { name: 'webgpu', preferredLayout: 'NHWC' };
  if (provider === 'cuda') return { name: 'cuda', deviceId: 0 };
  return PROVIDERS[provider];
}

/**
 * Whether a provider can leave outputs on its device for the next run to take as inputs. Node's
 * binding binds 'gpu-buffer' outputs to WebGPU memory only: CUDA's outputs come back to the host.
 */
export function keepsOutputsOnDevice(provider: ProviderName): boolean {
  return provider === 'webgpu';
}

/**
 * The options of an engine's sessions on `provider`: whole-graph optimization, one inter-op thread,
 * `threads` intra-op (default: ORT's own, all physical cores); `deviceOutputs` stay on the device
 * where the provider can keep them there (`keepsOutputsOnDevice`), as a chain's state does.
 */
export function sessionOptionsFor(provider: ProviderName, threads?: number, deviceOutputs: readonly string[] = []): OrtSessionOptions {
  const onDevice = keepsOutputsOnDevice(provider) && deviceOutputs.length > 0;
  return {
    executionProviders: [providerConfig(provider)],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(threads ? { intraOpNumThreads: threads } : {}),
    ...(onDevice ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((name) => [name, 'gpu-buffer' as const])) } : {}),
  };
}

/** Imports onnxruntime-node; throws (code ERR_MODULE_NOT_FOUND) where it is not installed. */
export async function loadOrt(): Promise<OrtModule> {
  // A variable specifier keeps tsc and bundlers from requiring the optional package.
  const spec: string = 'onnxruntime-node';
  const mod = (await import(spec)) as OrtModule & { default?: OrtModule };
  return mod.InferenceSession ? mod : mod.default!;
}

/**
 * Checks that `provider` really runs here: ORT lists CUDA even where its libraries are missing,
 * so a one-node model is opened with that provider alone. Throws ORT's own first line otherwise.
 */
export async function probeProvider(ort: OrtModule, provider: ProviderName): Promise<void> {
  // ORT's process-wide logger starts with the first session: fatal only, so that a provider that
  // does not load is reported once, through the exception (the selection log prints its first line).
  ort.env.logLevel = 'fatal';
  const b = new GraphBuilder();
  b.input('x', [1]);
  b.rename('x', 'y');
  b.output('y', [1]);
  const session = await ort.InferenceSession.create(b.encode('probe'), { executionProviders: [providerConfig(provider)], logSeverityLevel: 4 });
  await session.release();
}
