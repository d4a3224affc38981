/**
 * Max pooling whose input gradient is built from ops every backend runs correctly. wasm's
 * MaxPoolGrad drops the gradient of a window whose maximum is ≤ 0; here the gradient of each
 * window goes to its first maximal element (row-major, like TF and the cpu backend), computed as
 * one strided slice, comparison and scatter per kernel offset.
 */
import * as tf from '@tensorflow/tfjs';
import { dilate, resolvePads, type Pads } from './conv-ops.ts';

export interface PoolSpec {
  size: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

/** maxPool(x) with the gradient described above. */
export function maxPool(x: tf.Tensor4D, spec: PoolSpec): tf.Tensor4D {
  const [kh, kw] = spec.size;
  const [sh, sw] = spec.strides;
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.maxPool(input as tf.Tensor4D, spec.size, spec.strides, spec.padding);
    save([input, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xin, y] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [n, h, w, c] = xin.shape;
        const [, oh, ow] = y.shape;
        const pads: Pads = resolvePads(h, w, [kh, kw], [sh, sw], spec.padding);
        // Padded input (−∞ never wins), large enough for every strided window.
        const ph = Math.max((oh - 1) * sh + kh, h + pads[0][0]) - h - pads[0][0];
        const pw = Math.max((ow - 1) * sw + kw, w + pads[1][0]) - w - pads[1][0];
        const padded = tf.pad(xin, [[0, 0], [pads[0][0], ph], [pads[1][0], pw], [0, 0]], -Infinity);
        const PH = h + pads[0][0] + ph;
        const PW = w + pads[1][0] + pw;
        let claimed: tf.Tensor | undefined;
        const parts: tf.Tensor4D[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const window = tf.stridedSlice(padded, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]);
            let hit = tf.cast(tf.equal(window, y), 'float32');
            if (claimed) hit = tf.mul(hit, tf.sub(1, claimed));
            claimed = claimed ? tf.add(claimed, hit) : hit;
            // Scatter back: spread by the stride, shift by the offset, pad to the padded size.
            const spread = dilate(tf.mul(dy, hit) as tf.Tensor4D, [sh, sw]);
            const [, dh, dw] = spread.shape;
            parts.push(tf.pad(spread, [[0, 0], [i, PH - i - dh], [j, PW - j - dw], [0, 0]]));
          }
        }
        const sum = parts.length === 1 ? parts[0]! : (tf.addN(parts) as tf.Tensor4D);
        return tf.slice(sum, [0, pads[0][0], pads[1][0], 0], [n, h, w, c]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
