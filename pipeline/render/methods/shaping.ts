/**
 * Which of a unit's settings shape its pixels (and so its cache key), shared by the methods: the
 * border only matters to filter objectives, the crop only to the lecture deprocessing. Everything
 * else a method records shapes its images. A changed setting then recomputes only what it affects.
 */
import type { UnitKind } from '../../output/paths.ts';

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
