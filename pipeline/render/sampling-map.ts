/**
 * Bilinear warps as sampling maps: for each output pixel its four input corners (flat indices) and
 * weights (`samplingMap`), and `warp`, four gathers forward and one scatterND backward (scatterND
 * sums duplicate indices: the adjoint of bilinear sampling spreads each output pixel's gradient
 * onto its four corners with the same weights). The general form: quality numbers use it for
 * their jittered copies, and the loop's warp on GPU backends for its gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { transformParams, type Affine } from './affine.ts';

export interface SamplingMap {
  /** [4, n] flat indices into the [B·h·w] pixels of the input batch. */
  index: Int32Array;
  /** [4, n] bilinear weights (0 where the corner is outside the image: grey). */
  weight: Float32Array;
  n: number;
}

/**
 * Bilinear sampling map of a batch: image b's output pixel p samples its input at
 * c_in + R(-angle)·(p - c_out - shift2)/scale - shift1.
 */
export function samplingMap(affines: Affine[], size: [number, number]): SamplingMap {
  const [h, w] = size;
  const [oh, ow] = affines[0]!.out;
  for (const a of affines) if (a.out[0] !== oh || a.out[1] !== ow) throw new Error('all transforms of a batch need one output size');
  const per = oh * ow;
  const n = affines.length * per;
  const index = new Int32Array(4 * n);
  const weight = new Float32Array(4 * n);
  affines.forEach((a, b) => {
    // The same point as the Transform kernel and `bilinear` sample: one geometry, `transformParams`.
    const [a0, a1, a2, b0, b1, b2] = transformParams(a, size) as [number, number, number, number, number, number];
    const base = b * h * w;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sx = a0 * x + a1 * y + a2;
        const sy = b0 * x + b1 * y + b2;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        const o = b * per + y * ow + x;
        // The four corners k = 0..3: (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1).
        for (let k = 0; k < 4; k++) {
          const cy = y0 + (k >> 1);
          const cx = x0 + (k & 1);
          const inside = cy >= 0 && cy < h && cx >= 0 && cx < w;
          index[k * n + o] = base + (inside ? cy * w + cx : 0);
          weight[k * n + o] = inside ? (k >> 1 ? fy : 1 - fy) * (k & 1 ? fx : 1 - fx) : 0;
        }
      }
    }
  });
  return { index, weight, n };
}

/**
 * Warps x [B, h, w, C] by a sampling map → [B, oh, ow, C]; outside the image is 0 (grey in
 * canonical pixels). Differentiable in x on every backend (custom gradient by scatterND).
 */
export function warp(x: tf.Tensor4D, map: SamplingMap, out: [number, number]): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const { n } = map;
  return tf.tidy(() => {
    const index = tf.tensor2d(map.index, [4, n], 'int32');
    const weight = tf.tensor2d(map.weight, [4, n]);
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      const flat = input.reshape([b * h * w, c]);
      const value = tf.addN([0, 1, 2, 3].map((k) => tf.gather(flat, index.slice([k, 0], [1, n]).reshape([n])).mul(weight.slice([k, 0], [1, n]).reshape([n, 1]))));
      save([index, weight]);
      return {
        value: value.reshape([b, out[0], out[1], c]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [ix, wt] = saved as [tf.Tensor2D, tf.Tensor2D];
          const g = dy
            .reshape([1, n, c])
            .mul(wt.reshape([4, n, 1]))
            .reshape([4 * n, c]);
          return tf.scatterND(ix.reshape([4 * n, 1]), g, [b * h * w, c]).reshape([b, h, w, c]);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(x) as tf.Tensor4D;
  });
}
