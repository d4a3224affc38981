/**
 * Which of a unit's settings shape its pixels (and so its cache key), shared by the methods: the
 * border only matters to filter objectives, the crop only to the lecture deprocessing. Everything
 * else a method records shapes its images. A changed setting then recomputes only what it affects.
 */
import type { UnitKind } from '../../output/paths.ts';

export function shapingSettings<S extends { border?: number; crop?: number; deprocess?: string }>(settings: S, kind: UnitKind): Partial<S> {
  const shaping: Partial<S> = { ...settings };
  if (kind === 'class') delete shaping.border;
  if (settings.deprocess !== 'lecture') delete shaping.crop;
  return shaping;
}
