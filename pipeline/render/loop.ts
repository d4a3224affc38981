/**
 * The render loop: one loop for every method. Per step it builds the model input from the
 * parameters (parameterization → transforms → the model's pixel mapping), asks the engine for the
 * objective's value and gradient, lets the optimizer update the parameters, and records the value
 * and, every `frameEvery` steps, a frame. The curve's last entry is the objective of the final
 * image itself (untransformed), so curves of every method end on the published picture.
 *
 * Continuation (class units, `plan.continuation`): after `steps`, before each further step, every
 * unit's lead over the best other class is read on its current image (untransformed, clipped: what
 * its PNG shows); a unit that leads by the margin stops there (its parameters no longer change, its
 * curve and frames end), the others go on, up to `maxSteps`. Every decision reads only the unit's own
 * image, so a unit stops at the same step alone as in any batch, and a unit that stops at step s is
 * exactly the unit a plain run of s steps makes.
 *
 * A step whose objective cannot move by more than float rounding (`movable.ts`: a filter with
 * all-zero weights) is not taken for that unit: its image stays, and a unit that never moved is
 * flagged `dead`. Engines that compile whole steps run the same loop in calls of K steps
 * (`chain-loop.ts`, Node only); this module stays importable in a browser.
 */
import * as tf from '@tensorflow/tfjs';
import type { Prefix } from '../engine/engine.ts';
import { valueAndGradOfParams } from '../engine/step.ts';
import { clipToBytes, displayBytes, displaySize } from './deprocess.ts';
import type { RenderContext, RenderPlan, UnitResult } from './method.ts';
import { toModelInput } from './pixels.ts';
import { canMove, inputWidths } from './movable.ts';
import { BatchRecorder } from './record.ts';

/**
 * The image the units show: the parameterization's, or for a one-channel (grayscale) model its grey
 * (the mean of R, G and B in every channel), which is all that model sees; so a grey model's images,
 * frames and PNGs are grey too, whatever the parameterization.
 */
export function imageOf(plan: RenderPlan, ctx: RenderContext, params: tf.Tensor): tf.Tensor4D {
  const x = plan.parameterization.image(params);
  return ctx.pixels.channels === 1 ? (tf.tile(x.mean(3, true), [1, 1, 1, 3]) as tf.Tensor4D) : x;
}

/** The prefix of one step: image, this step's transforms, pixel mapping, and the L2 penalty. */
function prefixOf(plan: RenderPlan, ctx: RenderContext, step: number | undefined): Prefix {
  const transform = step === undefined ? undefined : plan.transforms?.(plan.units, step, plan.size, ctx.inputSize);
  return (params) => {
    const x = imageOf(plan, ctx, params);
    const input = toModelInput(transform ? transform(x) : x, ctx.pixels);
    if (!plan.l2) return { input };
    return { input, penalty: tf.sum(tf.square(x), [1, 2, 3]).mul(plan.l2 / 2) as tf.Tensor1D };
  };
}

/** Objective (minus penalty) of the untransformed images of `params`. */
export async function finalValue(plan: RenderPlan, ctx: RenderContext, params: tf.Tensor): Promise<tf.Tensor1D> {
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

/** Each unit's lead over its best rival class (`objective.lead`) on its current image, untransformed and clipped to the valid range. */
export async function leadsOf(plan: RenderPlan, ctx: RenderContext, params: tf.Tensor, lead: (features: tf.Tensor) => tf.Tensor1D): Promise<Float32Array> {
  const input = tf.tidy(() => toModelInput(tf.clipByValue(imageOf(plan, ctx, params), -1, 1), ctx.pixels));
  const [features] = await ctx.engine.features([plan.objective.read], input);
  const leads = tf.tidy(() => lead(features!));
  tf.dispose([features!, input]);
  const data = (await leads.data()) as Float32Array;
  leads.dispose();
  return data;
}

/** The new parameters where `active`, the old ones elsewhere (a finished or dead unit keeps its image); takes `next` over. */
export function keepFinished(next: tf.Tensor, params: tf.Tensor, active: boolean[]): tf.Tensor {
  // As [units, rest]: WebGPU has no select of rank 6, the rank of lucid's Fourier parameters.
  const flat = (t: tf.Tensor) => t.reshape([active.length, -1]);
  const kept = tf.tidy(() => tf.where(tf.tensor2d(active, [active.length, 1], 'bool'), flat(next), flat(params)).reshape(params.shape));
  next.dispose();
  return kept;
}

/** The plan's continuation where its objective can tell a lead (class units), else undefined. */
export function continuationOf(plan: RenderPlan): RenderPlan['continuation'] {
  return plan.continuation && plan.objective.lead && plan.continuation.maxSteps > plan.steps ? plan.continuation : undefined;
}

/** Per unit, whether its step moves the objective (`movable.ts`); takes `span` over. */
async function movesOf(value: tf.Tensor1D, span: tf.Tensor1D): Promise<boolean[]> {
  const [v, s] = [await value.data(), await span.data()];
  span.dispose();
  return Array.from(v, (x, i) => canMove(x, s[i]!));
}

export async function renderBatch(plan: RenderPlan, ctx: RenderContext): Promise<UnitResult[]> {
  const { parameterization: param, optimizer } = plan;
  const rec = new BatchRecorder(plan.units);
  let params = param.init(plan.units, plan.size);
  /** Units still optimizing; undefined: all (always during the first `steps`). */
  let active: boolean[] | undefined;
  const record = (only?: boolean[]) =>
    rec.frame(
      tf.tidy(() => displayBytes(imageOf(plan, ctx, params), plan.deprocess)),
      only,
    );
  const lead = plan.objective.lead;
  const continuation = continuationOf(plan);
  const widths = tf.tensor1d(inputWidths(ctx.pixels));
  try {
    for (let step = 0; step < (continuation?.maxSteps ?? plan.steps); step++) {
      if (continuation && step >= plan.steps) {
        const leads = await leadsOf(plan, ctx, params, lead!);
        active = plan.units.map((_, i) => active?.[i] !== false && leads[i]! < continuation.margin);
        if (!active.includes(true)) break;
      }
      if (step % plan.frameEvery === 0) await record(active);
      const { value, grad, span } = await valueAndGradOfParams(ctx.engine, plan.objective, prefixOf(plan, ctx, step), params, widths);
      const moves = await movesOf(value, span);
      rec.moved(moves, active);
      const stepped = optimizer.step(params, grad, step);
      const keep = plan.units.map((_, i) => active?.[i] !== false && moves[i]!);
      const next = keep.every(Boolean) ? stepped : keepFinished(stepped, params, keep);
      tf.dispose([params, grad]);
      params = next;
      await rec.values(value, active);
      // Progress counts the planned steps (its total); continued steps are not known in advance.
      if (step < plan.steps) ctx.onStep?.(step);
    }
    await rec.values(await finalValue(plan, ctx, params));
    await record();
    const [width, height] = displaySize(plan.size, plan.deprocess);
    // Quality is measured on the optimized image itself: when frames are cropped/standardized, keep it too.
    const inputs = plan.deprocess.mode === 'clip' ? undefined : tf.tidy(() => clipToBytes(imageOf(plan, ctx, params)));
    return await rec.results(width, height, inputs);
  } finally {
    tf.dispose([params, widths]);
    optimizer.dispose();
    param.dispose();
  }
}
