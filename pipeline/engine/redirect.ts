/**
 * relu / relu6 whose gradient is redirected where no gradient reaches a channel of an image
 * (Lucid's "redirected ReLU", limited to the objective's own layer): there the true gradient is
 * zero and ascent could never start, so the upstream gradient passes where the pre-activation is
 * below zero. Values are the plain activation's; a channel with any gradient gets the true one.
 */
import * as tf from '@tensorflow/tfjs';

export function redirectedRelu(pre: tf.Tensor, cap: number): tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    const value = Number.isFinite(cap) ? tf.clipByValue(x, 0, cap) : tf.relu(x);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const input = saved[0]!;
        const active = tf.logicalAnd(tf.greater(input, 0), tf.less(input, cap)).toFloat();
        const trueGrad = tf.mul(dy, active);
        if (input.rank !== 4) return trueGrad;
        // Where no gradient flows to a channel of an image, let it through where the input is below zero.
        const flowing = tf.greater(tf.max(tf.abs(trueGrad), [1, 2], true), 0);
        return tf.where(tf.logicalOr(flowing, tf.greater(input, 0)), trueGrad, dy);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(pre);
}
