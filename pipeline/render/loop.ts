/**
 * The render loop: one loop for every method. Per step it builds the model input from the
 * parameters (parameterization → transforms → the model's pixel mapping), asks the engine for the
 * objective's value and gradient, lets the optimizer update the parameters, and records the value
 * and, every `frameEvery` steps, a frame. The curve's last entry is the objective of the final
 * image itself (untransformed), so curves of every method end on the published picture.
 */
import * as tf from '@tensorflow/tfjs';
import type { Prefix } from '../engine/engine.ts';
import { valueAndGradOfParams } from '../engine/step.ts';
import { clipToBytes, displayBytes, displaySize } from './deprocess.ts';
import type { RenderContext, RenderPlan, UnitResult } from './method.ts';
import { toModelInput } from './pixels.ts';
import { BatchRecorder } from './record.ts';

/**
 * The image the units show: the parameterization's, or for a one-channel (grayscale) model its grey
 * (the mean of R, G and B in every channel), which is all that model sees; so a grey model's images,
 * frames and PNGs are grey too, whatever the parameterization.
 */
function imageOf(plan: RenderPlan, ctx: RenderContext, params: tf.Tensor): tf.Tensor4D {
  const x = plan.parameterization.image(params);
  return ctx.pixels.channels === 1 ? (tf.tile(x.mean(3, true), [1, 1, 1, 3]) as tf.Tensor4D) : x;
}

/** The prefix of one step: image, this step's transforms, pixel mapping, and the L2 penalty. */
function prefixOf(plan: RenderPlan, ctx: RenderContext, step: number | undefined): Prefix {
  const transform = step === undefined ? undefined : plan.transforms?.(plan.units, step, plan.size);
  return (params) => {
    const x = imageOf(plan, ctx, params);
    const input = toModelInput(transform ? transform(x) : x, ctx.pixels);
    if (!plan.l2) return { input };
    return { input, penalty: tf.sum(tf.square(x), [1, 2, 3]).mul(plan.l2 / 2) as tf.Tensor1D };
  };
}

/** Objective (minus penalty) of the untransformed images of `params`. */
async function finalValue(plan: RenderPlan, ctx: RenderContext, params: tf.Tensor): Promise<tf.Tensor1D> {
  const { input, penalty } = tf.tidy(() => prefixOf(plan, ctx, undefined)(params));
  const [features] = await ctx.engine.features([plan.objective.read], input);
  const value = tf.tidy(() => {
    const v = plan.objective.head(features!);
    return penalty ? (v.sub(penalty) as tf.Tensor1D) : v;
  });
  // The input may be the parameters themselves (pixels in the model's own range): those stay.
  tf.dispose([features!, ...(penalty ? [penalty] : []), ...(input !== params ? [input] : [])]);
  return value;
}

export async function renderBatch(plan: RenderPlan, ctx: RenderContext): Promise<UnitResult[]> {
  const { parameterization: param, optimizer } = plan;
  const rec = new BatchRecorder(plan.units);
  let params = param.init(plan.units, plan.size);
  const record = () => rec.frame(tf.tidy(() => displayBytes(imageOf(plan, ctx, params), plan.deprocess)));
  try {
    for (let step = 0; step < plan.steps; step++) {
      if (step % plan.frameEvery === 0) await record();
      const { value, grad } = await valueAndGradOfParams(ctx.engine, plan.objective, prefixOf(plan, ctx, step), params);
      const next = optimizer.step(params, grad, step);
      tf.dispose([params, grad]);
      params = next;
      await rec.values(value);
      ctx.onStep?.(step);
    }
    await rec.values(await finalValue(plan, ctx, params));
    await record();
    const [width, height] = displaySize(plan.size, plan.deprocess);
    // Quality is measured on the optimized image itself: when frames are cropped/standardized, keep it too.
    const inputs = plan.deprocess.mode === 'clip' ? undefined : tf.tidy(() => clipToBytes(imageOf(plan, ctx, params)));
    return await rec.results(width, height, inputs);
  } finally {
    params.dispose();
    optimizer.dispose();
    param.dispose();
  }
}
