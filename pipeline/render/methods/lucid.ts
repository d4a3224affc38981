/**
 * The Lucid method (Olah, Mordvintsev, Schubert, "Feature Visualization", Distill 2017; Lucid,
 * Lucent): the image is parameterized as a scaled Fourier spectrum in a decorrelated colour space,
 * mapped to pixels by a sigmoid, and optimized with Adam through random transformations (pad,
 * jitter, scale, rotate, jitter) drawn anew at every step. Parts: `fourierImage`, `adam`,
 * `randomTransforms`, clipped display.
 *
 * Batch independence: every per-image quantity is the image's own — its start spectrum (seeded by
 * the unit), its transformations (seeded by the unit and the step), its Fourier transform (a batched
 * matrix product), its Adam moments (elementwise) — so a unit's result in a batch equals its result alone.
 */
import type { AtlasConfig, FilterObjectiveKind } from '../../config/schema.ts';
import type { UnitKind } from '../../output/paths.ts';
import type { Method, SettingsContext } from '../method.ts';
import { negative, type ScoreKind } from '../objectives.ts';
import { adam, ADAM_DEFAULTS } from '../optimizers.ts';
import { fourierImage } from '../param/index.ts';
import type { TransformSettings } from '../affine.ts';
import { randomTransforms } from '../transforms.ts';
import { continuationOf, continuationSettings, NOTES_AT_224, scaledToImage, scaledTransforms, shapingSettings, unitObjective } from './shaping.ts';

/**
 * A lucid unit's settings (the manifest's `settings`). `stepSize` (= lr), `l2: 0` and `photo: null`
 * say what lucid does not use and keep the cache keys of atlases made before methods were bundles.
 */
export interface LucidUnitSettings {
  method: 'lucid';
  steps: number;
  stepSize: number;
  /** Adam's learning rate. */
  lr: number;
  l2: number;
  size: [number, number];
  border: number;
  deprocess: 'clip';
  frameEvery: number;
  photo: null;
  /** Spectrum scale 1/f^decay. */
  decay: number;
  /** Std of the start spectrum. */
  sd: number;
  transforms: TransformSettings;
  negative: boolean;
  score?: ScoreKind;
  redirect?: boolean;
  filterObjective?: FilterObjectiveKind;
  /** Filters: objective on the pre-activation of a ReLU/ReLU6 layer. */
  preActivation?: boolean;
  /** Classes: steps in all when the image is not yet its class's top-1 by `margin` (absent: no continuation). */
  maxSteps?: number;
  /** Classes: the lead in log-odds over the best other class at which a continuing unit stops. */
  margin?: number;
}

/** A lucid unit's settings from `render.lucid` and the atlas-wide border and redirect. */
function settingsOf(config: AtlasConfig, kind: UnitKind, ctx: SettingsContext): LucidUnitSettings {
  const r = config.render;
  const l = r.lucid;
  return {
    method: 'lucid',
    steps: l.steps,
    stepSize: l.lr,
    lr: l.lr,
    l2: 0,
    size: ctx.size,
    border: scaledToImage(r.border, NOTES_AT_224.border, ctx.size),
    deprocess: 'clip',
    frameEvery: l.frameEvery,
    photo: null,
    decay: l.decay,
    sd: l.sd,
    transforms: scaledTransforms(l.transforms, ctx.size),
    negative: l.negative,
    ...(kind === 'class' ? { score: config.model.score } : { redirect: r.redirect, filterObjective: l.filterObjective, preActivation: l.preActivation }),
    // A negative class unit minimizes its class: nothing to continue towards.
    ...(kind === 'class' && !l.negative ? continuationSettings(l.steps, l.classes.maxSteps, true) : {}),
  };
}

export const lucidMethod: Method<LucidUnitSettings> = {
  id: 'lucid',
  name: 'Lucid (Fourier parameterization, transformation robustness)',
  description:
    'Instead of optimizing pixels directly, the image is built from a set of Fourier coefficients in a decorrelated colour space, scaled so that coarse patterns change as easily as fine ones, and squashed into valid colours by a sigmoid. At every step the image is randomly padded, shifted, scaled and rotated before the network sees it, and Adam adjusts the coefficients so that the objective stays high under all of these transformations. Patterns that only work at one exact pixel position are averaged away, so the result shows shapes, textures and colours the unit reliably responds to; it is slower (hundreds of steps) and its frames show structure emerging from coarse to fine.',
  settings: settingsOf,
  shaping: (settings, kind) => shapingSettings(settings, kind),
  objective(s, target) {
    const base = unitObjective(s, target);
    return s.negative ? negative(base) : base;
  },
  plan: (s, units, objective) => ({
    units,
    objective,
    size: s.size,
    steps: s.steps,
    frameEvery: s.frameEvery,
    parameterization: fourierImage({ decay: s.decay, sd: s.sd }),
    optimizer: adam({ lr: s.lr, ...ADAM_DEFAULTS }),
    transforms: randomTransforms(s.transforms),
    l2: 0,
    deprocess: { mode: 'clip', crop: 0 },
    continuation: continuationOf(s),
    chain: { method: 'lucid', options: { decay: s.decay, adam: { lr: s.lr, ...ADAM_DEFAULTS }, transforms: s.transforms } },
  }),
};
