/**
 * Optimizers of the render loop. Both ascend (maximize the objective); every per-image quantity is
 * the image's own, so a unit's result does not depend on the batch it runs in.
 */
import * as tf from '@tensorflow/tfjs';
import type { Optimizer } from './method.ts';

/**
 * The lecture notes' step: the gradient L2-normalized per image, times `stepSize`. The normalized
 * step moves every image by the same distance whatever the objective's scale.
 */
export function normalizedAscent(stepSize: number): Optimizer {
  return {
    step: (params, grad) =>
      tf.tidy(() => {
        const axes = grad.shape.map((_, i) => i).slice(1);
        const norm = tf.sqrt(tf.sum(tf.square(grad), axes, true)).add(1e-8);
        return params.add(grad.div(norm).mul(stepSize));
      }),
    dispose: () => {},
  };
}

interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const ADAM_DEFAULTS: Omit<AdamOptions, 'lr'> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Adam, ascending (Lucid minimizes the negative objective; same update with the sign flipped). */
export function adam(o: AdamOptions): Optimizer {
  let m: tf.Tensor | undefined;
  let v: tf.Tensor | undefined;
  return {
    step: (params, grad, step) => {
      const t = step + 1;
      // lr·m̂/(√v̂ + ε) with the bias corrections as scalars: lr·√c2/c1 · m/(√v + ε·√c2), c = 1 − βᵗ.
      const c1 = 1 - o.beta1 ** t;
      const c2 = Math.sqrt(1 - o.beta2 ** t);
      const [nm, nv, next] = tf.tidy(() => {
        const m1 = m ? m.mul(o.beta1).add(grad.mul(1 - o.beta1)) : grad.mul(1 - o.beta1);
        const v1 = v ? v.mul(o.beta2).add(grad.square().mul(1 - o.beta2)) : grad.square().mul(1 - o.beta2);
        return [m1, v1, params.add(m1.div(v1.sqrt().add(o.epsilon * c2)).mul((o.lr * c2) / c1))];
      });
      tf.dispose([m, v].filter((x): x is tf.Tensor => x !== undefined));
      m = nm;
      v = nv;
      return next!;
    },
    dispose: () => tf.dispose([m, v].filter((x): x is tf.Tensor => x !== undefined)),
  };
}

/**
 * Projected ascent: after each step the canonical image is clipped to the valid range [-1, 1], so
 * the image the model scores at every step is the one that is published (clipped) at the end.
 * For parameterizations whose parameters are the pixels.
 */
export function projected(opt: Optimizer): Optimizer {
  return {
    step: (params, grad, step) => {
      const next = opt.step(params, grad, step);
      const clipped = tf.clipByValue(next, -1, 1);
      next.dispose();
      return clipped;
    },
    dispose: () => opt.dispose(),
  };
}
