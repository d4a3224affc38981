/**
 * The lecture method (Chollet, "visualizing what convnets learn"): gradient ascent on the pixels
 * with the gradient L2-normalized per image, from seeded uniform noise (optionally plus a photo);
 * frames standardized to std 0.15 and cropped for display. Parts: `pixelImage`, `normalizedAscent`,
 * no transforms unless `render.lecture.transforms` asks for them, the lecture deprocessing.
 */
import type { FilterObjectiveKind, LectureSettings } from '../../config/schema.ts';
import type { Method } from '../method.ts';
import type { ScoreKind } from '../objectives.ts';
import { normalizedAscent, projected } from '../optimizers.ts';
import { pixelImage } from '../param/index.ts';
import { randomTransforms, type TransformSettings } from '../transforms.ts';
import { continuationOf, continuationSettings, NOTES_AT_224, scaledToImage, scaledTransforms, shapingSettings, unitObjective } from './shaping.ts';

/** A lecture unit's settings (the manifest's `settings`; their key order is part of the cache key). */
export interface LectureUnitSettings {
  steps: number;
  stepSize: number;
  l2: number;
  size: [number, number];
  border: number;
  crop: number;
  deprocess: 'lecture' | 'clip';
  frameEvery: number;
  photo: string | null;
  /** Classes: what the class objective maximized. */
  score?: ScoreKind;
  /** Filters: gradient redirected at a dead target channel. */
  redirect?: boolean;
  /** Filters: absent means 'channel' (so atlases made before it was a setting keep their cache keys). */
  filterObjective?: FilterObjectiveKind;
  /** Random transforms at every step (absent: none, the notes' method). */
  transforms?: TransformSettings;
  /** Clipped units: the image is kept in the valid range at every step (projected ascent). */
  projected?: boolean;
  /** Filters: the objective reads the target before its ReLU6/clip. */
  preActivation?: boolean;
  /** Classes: steps in all when the image is not yet its class's top-1 by `margin` (absent: no continuation). */
  maxSteps?: number;
  /** Classes: the lead in log-odds over the best other class at which a continuing unit stops. */
  margin?: number;
}

/** `render.lecture.preActivation` for a unit whose target does or does not cap its output. */
const usePreActivation = (setting: boolean | 'auto', capped: boolean) => (setting === 'auto' ? capped : setting);

export const lectureMethod: Method<LectureUnitSettings> = {
  id: 'lecture',
  name: 'Lecture (pixel-space gradient ascent)',
  description:
    'Gradient ascent directly on the pixels, starting from faint random noise: each step moves the image along the gradient of the objective, normalized to unit length. It shows what the optimization does step by step; the images are often high-frequency and adversarial-looking.',
  settings(config, kind, ctx) {
    const r = config.render;
    const l: LectureSettings = r.lecture;
    const phase = kind === 'filter' ? l.filters : l.classes;
    return {
      steps: phase.steps,
      stepSize: phase.stepSize,
      l2: phase.l2,
      size: ctx.size,
      border: scaledToImage(r.border, NOTES_AT_224.border, ctx.size),
      crop: scaledToImage(l.crop, NOTES_AT_224.crop, ctx.size),
      deprocess: phase.deprocess,
      frameEvery: l.frameEvery,
      photo: l.photo ?? null,
      ...(kind === 'class' ? { score: config.model.score } : { redirect: r.redirect }),
      // Written only when not the default, so that atlases made before these were settings keep their cache keys.
      ...(kind === 'filter' && l.filterObjective !== 'channel' ? { filterObjective: l.filterObjective } : {}),
      ...(l.transforms ? { transforms: scaledTransforms(l.transforms, ctx.size) } : {}),
      // What is published clipped is optimized within the valid range (what the model scores is what is shown).
      ...((phase.projected ?? phase.deprocess === 'clip') ? { projected: true } : {}),
      ...(kind === 'filter' && usePreActivation(l.preActivation, ctx.capped) ? { preActivation: true } : {}),
      ...(kind === 'class' ? continuationSettings(l.classes.steps, l.classes.maxSteps, l.classes.deprocess === 'clip') : {}),
    };
  },
  shaping: (settings, kind) => shapingSettings(settings, kind),
  objective: unitObjective,
  plan: (s, units, objective, photo) => ({
    units,
    objective,
    size: s.size,
    steps: s.steps,
    frameEvery: s.frameEvery,
    parameterization: pixelImage(photo),
    optimizer: s.projected ? projected(normalizedAscent(s.stepSize)) : normalizedAscent(s.stepSize),
    transforms: s.transforms ? randomTransforms(s.transforms) : undefined,
    l2: s.l2,
    deprocess: { mode: s.deprocess, crop: s.crop },
    continuation: continuationOf(s),
    chain: { method: 'lecture', options: { stepSize: s.stepSize, projected: !!s.projected } },
  }),
};
