/**
 * The Lucid method (Olah, Mordvintsev, Schubert, "Feature Visualization", Distill 2017; Lucid,
 * Lucent): the image is parameterized as a scaled Fourier spectrum in a decorrelated colour space,
 * mapped to pixels by a sigmoid, and optimized with Adam through random transformations (pad,
 * jitter, scale, rotate, jitter) drawn anew at every step.
 *
 * Batch independence: every per-image quantity is the image's own — its start spectrum (seeded by
 * the unit), its transformations (seeded by the unit and the step), its Fourier transform (a batched
 * matrix product), its Adam moments (elementwise) — so a unit's result in a batch equals its result alone.
 */
import * as tf from '@tensorflow/tfjs';
import type { LucidSettings } from '../../config/schema.ts';
import type { UnitSettings } from '../../output/manifest.ts';
import { clipToBytes } from '../deprocess.ts';
import type { Method, RenderBatch, RenderContext, UnitResult } from '../method.ts';
import { classObjective, filterObjective, negative, type Objective, type ScoreKind } from '../objectives.ts';
import { toCanonicalPixels } from '../param/color.ts';
import { fourierBasis, initialSpectrum, spectrumToImage, type FourierBasis } from '../param/fourier.ts';
import { toModelInput } from '../pixels.ts';
import { BatchRecorder } from '../record.ts';
import { randomAffine, samplingMap, STANDARD_TRANSFORMS, stepSeed, warp, type TransformSettings } from '../transforms.ts';

/** What only this method reads (the rest of its settings come through RenderBatch: steps, stepSize = Adam's learning rate, frameEvery). */
export interface LucidOptions {
  /** Spectrum scale 1/f^decay. */
  decay: number;
  /** Std of the start spectrum. */
  sd: number;
  transforms: TransformSettings;
  /** Adam β1, β2, ε. */
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const LUCID_DEFAULTS: LucidOptions = { decay: 1, sd: 0.01, transforms: STANDARD_TRANSFORMS, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** A RenderBatch with this method's own options (absent: LUCID_DEFAULTS). */
export interface LucidRenderBatch extends RenderBatch {
  lucid?: Partial<LucidOptions>;
}

export interface LucidState {
  basis: FourierBasis;
  spectrum: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** Canonical pixels [-1, 1] of the current spectra, [B, h, w, 3]. */
export function lucidImages(spectrum: tf.Tensor, basis: FourierBasis): tf.Tensor4D {
  return tf.tidy(() => toCanonicalPixels(spectrumToImage(spectrum, basis)));
}

/**
 * One Adam ascent step through this step's random transforms. Returns the objective of each
 * transformed image and the next state (the caller disposes the old one). Pure in its tensors.
 */
export function lucidStep(batch: LucidRenderBatch, ctx: RenderContext, state: LucidState, step: number, options: LucidOptions): { value: tf.Tensor1D; next: Omit<LucidState, 'basis'> } {
  const { basis } = state;
  const size = batch.size;
  const affines = batch.units.map((u) => randomAffine(stepSeed(u.seed, step), size, options.transforms));
  const map = samplingMap(affines, size);
  const out = affines[0]!.out;
  const f = (spectrum: tf.Tensor) => {
    const x = warp(lucidImages(spectrum, basis), map, out);
    return batch.objective(ctx.graph, toModelInput(x, ctx.pixels));
  };
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad(f)(state.spectrum, tf.ones([batch.units.length]));
    const { beta1, beta2, epsilon } = options;
    const t = step + 1;
    const m = state.m.mul(beta1).add(grad.mul(1 - beta1));
    const v = state.v.mul(beta2).add(grad.square().mul(1 - beta2));
    const mHat = m.div(1 - beta1 ** t);
    const vHat = v.div(1 - beta2 ** t);
    // Ascent on the objective (Lucid minimizes its negative).
    const spectrum = state.spectrum.add(mHat.div(vHat.sqrt().add(epsilon)).mul(batch.stepSize));
    return { value: value as tf.Tensor1D, next: { spectrum, m, v } };
  });
}

export async function renderLucid(batch: LucidRenderBatch, ctx: RenderContext): Promise<UnitResult[]> {
  const options: LucidOptions = { ...LUCID_DEFAULTS, ...batch.lucid, transforms: { ...LUCID_DEFAULTS.transforms, ...batch.lucid?.transforms } };
  const [h, w] = batch.size;
  const basis = fourierBasis(h, w, options.decay);
  const spectrum = initialSpectrum(batch.units.map((u) => u.seed), basis, options.sd);
  let state: LucidState = { basis, spectrum, m: tf.zerosLike(spectrum), v: tf.zerosLike(spectrum) };
  const rec = new BatchRecorder(batch.units);
  const record = () => rec.frame(tf.tidy(() => clipToBytes(lucidImages(state.spectrum, basis))));
  try {
    for (let step = 0; step < batch.steps; step++) {
      if (step % batch.frameEvery === 0) await record();
      const { value, next } = lucidStep(batch, ctx, state, step, options);
      state.spectrum.dispose();
      state.m.dispose();
      state.v.dispose();
      state = { basis, ...next };
      await rec.values(value);
      ctx.onStep?.(step);
      if (ctx.shouldStop?.()) break;
    }
    // The last entry: the objective of the final image itself, untransformed.
    await rec.values(tf.tidy(() => batch.objective(ctx.graph, toModelInput(lucidImages(state.spectrum, basis), ctx.pixels))));
    await record();
    return await rec.results(w, h);
  } finally {
    state.spectrum.dispose();
    state.m.dispose();
    state.v.dispose();
    basis.dispose();
  }
}

export const lucidMethod: Method = {
  id: 'lucid',
  name: 'Lucid (Fourier parameterization, transformation robustness)',
  description:
    'Instead of optimizing pixels directly, the image is built from a set of Fourier coefficients in a decorrelated colour space, scaled so that coarse patterns change as easily as fine ones, and squashed into valid colours by a sigmoid. At every step the image is randomly padded, shifted, scaled and rotated before the network sees it, and Adam adjusts the coefficients so that the objective stays high under all of these transformations. Patterns that only work at one exact pixel position are averaged away, so the result shows shapes, textures and colours the unit reliably responds to; it is slower (hundreds of steps) and its frames show structure emerging from coarse to fine.',
  render: renderLucid as Method['render'],
};

// ---- Wiring for run.ts -------------------------------------------------------------------------

/** A lucid unit's settings: everything that shapes its pixels (goes into the manifest and the cache key). */
export interface LucidUnitSettings extends UnitSettings {
  method: 'lucid';
  /** Adam's learning rate (also in stepSize). */
  lr: number;
  decay: number;
  sd: number;
  transforms: TransformSettings;
  negative: boolean;
  /** Filters: objective on the pre-activation of a ReLU/ReLU6 layer. */
  preActivation?: boolean;
}

/**
 * The settings of a lucid unit from `render.lucid` and the atlas-wide values it shares with the
 * lecture method. Lucid ignores `render.photo` (its start is a random spectrum) and never crops.
 */
export function lucidUnitSettings(
  lucid: LucidSettings,
  common: { kind: 'filter' | 'class'; size: [number, number]; border: number; redirect: boolean; score: ScoreKind },
): LucidUnitSettings {
  return {
    method: 'lucid',
    steps: lucid.steps,
    stepSize: lucid.lr,
    lr: lucid.lr,
    l2: 0,
    size: common.size,
    border: common.border,
    crop: 0,
    deprocess: 'clip',
    frameEvery: lucid.frameEvery,
    photo: null,
    decay: lucid.decay,
    sd: lucid.sd,
    transforms: { ...lucid.transforms, scale: [...lucid.transforms.scale] as [number, number] },
    negative: lucid.negative,
    ...(common.kind === 'class' ? { score: common.score } : { redirect: common.redirect, filterObjective: lucid.filterObjective, preActivation: lucid.preActivation }),
  };
}

/** The RenderBatch fields of a lucid unit's settings (spread into the batch run.ts builds). */
export function lucidBatchFields(s: LucidUnitSettings): Pick<LucidRenderBatch, 'steps' | 'stepSize' | 'l2' | 'frameEvery' | 'deprocess' | 'crop' | 'lucid'> {
  return {
    steps: s.steps,
    stepSize: s.lr,
    l2: 0,
    frameEvery: s.frameEvery,
    deprocess: 'clip',
    crop: 0,
    lucid: { decay: s.decay, sd: s.sd, transforms: s.transforms },
  };
}

/**
 * The objective of a batch of lucid units (one kind, one target): filters by channel mean or centre
 * neuron, classes by score; negated when `negative`.
 */
export function lucidObjective(
  s: LucidUnitSettings,
  batch: { kind: 'filter' | 'class'; target: string; indices: number[] },
  classTarget: { node: string; isLogit: boolean },
): Objective {
  const base =
    batch.kind === 'class'
      ? classObjective(classTarget, batch.indices, s.score ?? 'logit')
      : filterObjective(s.filterObjective ?? 'channel', batch.target, batch.indices, { border: s.border, redirect: s.redirect ?? true, preActivation: s.preActivation ?? false });
  return s.negative ? negative(base) : base;
}
