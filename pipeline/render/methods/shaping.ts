/**
 * Which of a unit's settings shape its pixels (and so its cache key), shared by the methods: the
 * border only matters to filter objectives, the crop only to the lecture deprocessing. Everything
 * else a method records shapes its images. A changed setting then recomputes only what it affects.
 */
import { CLASS_STEPS_FACTOR, type FilterObjectiveKind, type TransformConfig } from '../../config/schema.ts';
import type { UnitKind } from '../../output/paths.ts';
import type { BatchTarget, Continuation } from '../method.ts';
import { classObjective, filterObjective, type Objective, type ScoreKind } from '../objectives.ts';
import { STANDARD_TRANSFORMS, type TransformSettings } from '../affine.ts';

/** The notes' border and crop, in pixels at their 224-px images. */
export const NOTES_AT_224 = { border: 2, crop: 25 };

/**
 * A border or crop setting for an image of `size`: a number as given; `auto` the notes' value at
 * 224 px scaled to the image's shorter side, so a 28-px digit keeps its proportions (and no border).
 */
export function scaledToImage(value: number | 'auto', notes: number, size: [number, number]): number {
  return value === 'auto' ? Math.round((notes * Math.min(...size)) / 224) : value;
}

export function shapingSettings<S extends { border?: number; crop?: number; deprocess?: string }>(settings: S, kind: UnitKind): Partial<S> {
  const shaping: Partial<S> = { ...settings };
  if (kind === 'class') delete shaping.border;
  if (settings.deprocess !== 'lecture') delete shaping.crop;
  return shaping;
}

/** A unit's objective from the settings every method records: the class score, or a filter objective by name. */
export function unitObjective(s: { score?: ScoreKind; filterObjective?: FilterObjectiveKind; border: number; redirect?: boolean; preActivation?: boolean }, target: BatchTarget): Objective {
  if (target.kind === 'class') return classObjective({ node: target.node, isLogit: target.isLogit }, target.indices, s.score ?? 'logit');
  return filterObjective(s.filterObjective ?? 'channel', target.node, target.indices, { border: s.border, redirect: s.redirect ?? true, preActivation: s.preActivation ?? false });
}

/**
 * The transforms for an image of `size`: pad and jitters as given in pixels, or `auto`: Lucid's
 * values at 224 px (STANDARD_TRANSFORMS) scaled to the image's shorter side, so a 28-px digit is
 * padded 2 px, not 12 (half its width). `view: window` is recorded as absent (Lucid's, as before the
 * option existed: the same cache keys). A copy: settings never share arrays.
 */
export function scaledTransforms(t: TransformConfig, size: [number, number]): TransformSettings {
  const px = (v: number | 'auto', at224: number) => (v === 'auto' ? scaledToImage('auto', at224, size) : v);
  const s = STANDARD_TRANSFORMS;
  return {
    pad: px(t.pad, s.pad),
    jitter: px(t.jitter, s.jitter),
    scale: [...t.scale] as [number, number],
    rotate: t.rotate,
    jitter2: px(t.jitter2, s.jitter2),
    ...(t.view === 'image' ? { view: t.view } : {}),
  };
}

/** The lead (log-odds over the best other class) at which a continuing class unit stops: its class is then at least e ≈ 2.7× as likely as any other. */
export const CLASS_MARGIN = 1;

/**
 * A class unit's continuation settings (`render.<method>.classes.maxSteps`; `auto`: CLASS_STEPS_FACTOR ×
 * steps for a unit published clipped, whose PNG is what the model classifies, else none): present only
 * when the unit can continue past `steps`, so units that cannot keep their cache keys.
 */
export function continuationSettings(steps: number, maxSteps: number | 'auto', clipped: boolean): Partial<Continuation> {
  const max = maxSteps !== 'auto' ? maxSteps : clipped ? CLASS_STEPS_FACTOR * steps : steps;
  return max > steps ? { maxSteps: max, margin: CLASS_MARGIN } : {};
}

/** The render plan's continuation from a unit's settings. */
export const continuationOf = (s: Partial<Continuation>): Continuation | undefined => (s.maxSteps !== undefined && s.margin !== undefined ? { maxSteps: s.maxSteps, margin: s.margin } : undefined);
