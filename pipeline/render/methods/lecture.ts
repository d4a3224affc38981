/**
 * The lecture method (Chollet, "visualizing what convnets learn"): gradient ascent in pixel space
 * with the gradient L2-normalized per image, from seeded uniform noise (optionally plus a photo).
 */
import * as tf from '@tensorflow/tfjs';
import { clipToBytes, cropFor, deprocess } from '../deprocess.ts';
import type { Method, RenderBatch, RenderContext, UnitResult } from '../method.ts';
import { toModelInput } from '../pixels.ts';
import { BatchRecorder } from '../record.ts';
import { lectureNoise } from '../seed.ts';

/** Per-image objective minus the L2 penalty, as a function of canonical pixels. */
function penalized(batch: RenderBatch, ctx: RenderContext): (x: tf.Tensor4D) => tf.Tensor1D {
  return (x) => {
    const value = batch.objective(ctx.graph, toModelInput(x, ctx.pixels));
    if (!batch.l2) return value;
    return value.sub(tf.sum(tf.square(x), [1, 2, 3]).mul(batch.l2 / 2)) as tf.Tensor1D;
  };
}

/** One ascent step: returns the objective at x and the next x. Pure; disposes nothing it did not make. */
export function ascentStep(f: (x: tf.Tensor4D) => tf.Tensor1D, x: tf.Tensor4D, stepSize: number): { value: tf.Tensor1D; next: tf.Tensor4D } {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad(f)(x, tf.onesLike(tf.zeros([x.shape[0]])));
    const norm = tf.sqrt(tf.sum(tf.square(grad), [1, 2, 3], true)).add(1e-8);
    const next = x.add(grad.div(norm).mul(stepSize)) as tf.Tensor4D;
    return { value: value as tf.Tensor1D, next };
  });
}

export function initialImages(batch: RenderBatch): tf.Tensor4D {
  const [h, w] = batch.size;
  return tf.tidy(() => {
    const noise = lectureNoise(batch.units.map((u) => u.seed), h, w);
    return batch.photo ? (noise.add(tf.tensor3d(batch.photo, [h, w, 3])) as tf.Tensor4D) : noise;
  });
}

export async function renderLecture(batch: RenderBatch, ctx: RenderContext): Promise<UnitResult[]> {
  const f = penalized(batch, ctx);
  const rec = new BatchRecorder(batch.units);
  const record = (x: tf.Tensor4D) => rec.frame(batch.deprocess === 'clip' ? clipToBytes(x) : deprocess(x, batch.crop));
  let x = initialImages(batch);
  try {
    for (let step = 0; step < batch.steps; step++) {
      if (step % batch.frameEvery === 0) await record(x);
      const { value, next } = ascentStep(f, x, batch.stepSize);
      x.dispose();
      x = next;
      await rec.values(value);
      ctx.onStep?.(step);
      if (ctx.shouldStop?.()) break;
    }
    await rec.values(tf.tidy(() => f(x)));
    await record(x);
    const [h, w] = batch.size;
    const crop = batch.deprocess === 'clip' ? 0 : batch.crop;
    return await rec.results(w - 2 * cropFor(w, crop), h - 2 * cropFor(h, crop), batch.deprocess === 'clip' ? undefined : clipToBytes(x));
  } finally {
    x.dispose();
  }
}

export const lectureMethod: Method = {
  id: 'lecture',
  name: 'Lecture (pixel-space gradient ascent)',
  description:
    'Gradient ascent directly on the pixels, starting from faint random noise: each step moves the image along the gradient of the objective, normalized to unit length. It shows what the optimization does step by step; the images are often high-frequency and adversarial-looking.',
  render: renderLecture,
};
