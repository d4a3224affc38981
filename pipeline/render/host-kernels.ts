/**
 * Kernels of our own for backends whose tensors live in JS-visible memory: the wasm backend (its
 * heap) and the cpu backend (its arrays). A kernel reads its inputs and writes its output in place,
 * with no copy in or out and nothing for the garbage collector; other backends (WebGPU, WebGL,
 * tfjs-node) take the caller's fallback made of TF.js ops.
 */
import * as tf from '@tensorflow/tfjs';

/** Reads an input's values and allocates a float32 output in one backend's own memory (its contents undefined: `fill` writes every element). */
interface HostAccess {
  read(backend: unknown, x: tf.TensorInfo): Float32Array;
  alloc(backend: unknown, shape: number[]): { info: tf.TensorInfo; values: Float32Array };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the backends' own JS APIs (tfjs-backend-wasm, tfjs-backend-cpu) have no public types for these. */
const HOST_ACCESS: Record<string, HostAccess> = {
  // Views on the wasm heap, taken after the output is allocated (an allocation can grow the heap).
  wasm: {
    read: (backend, x) => (backend as any).typedArrayFromHeap(x) as Float32Array,
    alloc: (backend, shape) => {
      const info = (backend as any).makeOutput(shape, 'float32') as tf.TensorInfo;
      return { info, values: (backend as any).typedArrayFromHeap(info) as Float32Array };
    },
  },
  cpu: {
    read: (backend, x) => (backend as any).data.get(x.dataId).values as Float32Array,
    alloc: (backend, shape) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      return { info: (backend as any).makeTensorInfo(shape, 'float32', values) as tf.TensorInfo, values };
    },
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Registers kernel `name` on the host backends: `shape` gives its output's shape from its inputs'
 * shapes and attributes, `fill` writes every element of the output from the inputs' values (the
 * output is not zeroed first: a kernel that accumulates clears it itself).
 */
export function registerHostKernel<A>(
  name: string,
  inputNames: string[],
  shape: (inputs: number[][], attrs: A) => number[],
  fill: (inputs: Float32Array[], out: Float32Array, attrs: A, shapes: number[][]) => void,
): void {
  for (const [backendName, host] of Object.entries(HOST_ACCESS))
    if (!tf.getKernel(name, backendName))
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const infos = inputNames.map((n) => inputs[n] as tf.TensorInfo);
          const shapes = infos.map((i) => i.shape);
          const { info, values } = host.alloc(backend, shape(shapes, attrs as unknown as A));
          fill(
            infos.map((i) => host.read(backend, i)),
            values,
            attrs as unknown as A,
            shapes,
          );
          return info;
        },
      });
}

/** Runs host kernel `name` where the current backend has it; undefined elsewhere (the caller's fallback runs). */
export function runHostKernel<A>(name: string, inputs: Record<string, tf.Tensor>, attrs: A): tf.Tensor | undefined {
  if (!tf.getKernel(name, tf.getBackend())) return undefined;
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
