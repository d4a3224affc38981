/**
 * Linear maps of tensors with their adjoints written out (`LinearStep`): the pieces the Fourier
 * transform is chained from (products with constant right operands, elementwise products with
 * constants, reshape-transposes), each with its transpose, so that the transform's gradient is the
 * chain of the steps' adjoints in reverse.
 */
import * as tf from '@tensorflow/tfjs';
import { transposed, type HostMatrix } from './dft.ts';

/** A linear map of tensors and its adjoint (the transpose), both pure tensor functions. */
export interface LinearStep {
  forward: (x: tf.Tensor) => tf.Tensor;
  adjoint: (dy: tf.Tensor) => tf.Tensor;
}

/** x as rows of K · m [K, N] → [rows, N], a 2-D product with the constant on the right; adjoint with mT [N, K]. */
export function matmulStep(m: tf.Tensor2D, mT: tf.Tensor2D): LinearStep {
  const apply = (x: tf.Tensor, c: tf.Tensor2D) => tf.matMul(x.reshape([-1, c.shape[0]]) as tf.Tensor2D, c);
  return { forward: (x) => apply(x, m), adjoint: (dy) => apply(dy, mT) };
}

/**
 * Elementwise product with a constant t, x read as [rows, ...t.shape] (self-adjoint). The constant
 * is tiled to x's size once per size and kept (wasm's broadcasting product is several times slower
 * than the same-shape one); `kept` collects the tiles for the basis to dispose.
 */
export function scaleStep(t: tf.Tensor, kept: Map<number, tf.Tensor>): LinearStep {
  const apply = (x: tf.Tensor) => {
    let full = kept.get(x.size);
    if (!full) {
      full = tf.keep(tf.tidy(() => tf.tile(t.reshape([1, t.size]), [x.size / t.size, 1])));
      kept.set(x.size, full);
    }
    return tf.mul(x.reshape(full.shape), full);
  };
  return { forward: apply, adjoint: apply };
}

/** Reshape to `shape` [...], transpose by `perm`; the adjoint undoes both. */
export function transposeStep(shape: number[], perm: number[]): LinearStep {
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return {
    forward: (x) => {
      const lead = x.size / shape.reduce((a, b) => a * b, 1);
      return x.reshape([lead, ...shape]).transpose([0, ...perm.map((p) => p + 1)]);
    },
    adjoint: (dy) => {
      const lead = dy.size / shape.reduce((a, b) => a * b, 1);
      return dy.reshape([lead, ...perm.map((p) => shape[p]!)]).transpose([0, ...inverse.map((p) => p + 1)]);
    },
  };
}

/** Keeps a host matrix and its transpose as tensors. */
export function constPair(m: HostMatrix): [tf.Tensor2D, tf.Tensor2D] {
  const t = transposed(m);
  return [tf.tensor2d(m.data, [m.rows, m.cols]), tf.tensor2d(t.data, [t.rows, t.cols])];
}
