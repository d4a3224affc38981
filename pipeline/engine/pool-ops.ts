/**
 * Max pooling whose input gradient is right on every backend. wasm's MaxPoolGrad drops the gradient
 * of a window whose maximum is ≤ 0 (its running maximum starts at 0). Max pooling commutes with
 * adding a constant, so the backend's own MaxPoolGrad runs on the input shifted to ≥ 1: the same
 * windows and maxima (up to the rounding of the shift), and a window's maximum is never ≤ 0. Among
 * exactly tied maxima wasm's kernel may pick another element than TF's first; either is a valid
 * gradient (the cpu backend keeps TF's). One reduction and two adds instead of the k² strided slices, compares and scatters a
 * hand-built gradient needs (about 270 ms a step on ResNet50V2's 3×3 stem pool on wasm).
 */
import * as tf from '@tensorflow/tfjs';

export interface PoolSpec {
  size: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

/** maxPool(x) with the gradient described above. */
export function maxPool(x: tf.Tensor4D, spec: PoolSpec): tf.Tensor4D {
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.maxPool(input as tf.Tensor4D, spec.size, spec.strides, spec.padding);
    save([input, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xin, y] = saved as [tf.Tensor4D, tf.Tensor4D];
        const shift = tf.sub(1, tf.min(xin));
        const inputs = { dy, input: tf.add(xin, shift), output: tf.add(y, shift) } as unknown as tf.NamedTensorMap;
        const attrs = { filterSize: spec.size, strides: spec.strides, pad: spec.padding } as unknown as tf.NamedAttrMap;
        return tf.engine().runKernel('MaxPoolGrad', inputs, attrs) as tf.Tensor4D;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
