/**
 * Flags that tell a reader a unit's picture may not show what its page says. Pure: from the
 * rendered result and its quality numbers.
 * - `dead`: a unit that never stepped because its objective could not move (`movable.ts`: its
 *   gradient is float noise, e.g. a filter with all-zero weights), or a filter whose objective stayed
 *   ~0 or constant (within float rounding) from start to end.
 * - `stalled`: the image stopped changing for most of the optimization (e.g. a ReLU6 channel at
 *   its cap has no gradient): the GIF shows almost nothing.
 * - `not-top1`: a class image that its own model does not classify as the class.
 * - `not-selective`: a filter that is not among the few most activated channels of its layer on its
 *   own image, so the picture may show a neighbour's preference. Ranked before the layer's ReLU/ReLU6
 *   clip when it has one: at a ReLU6 cap dozens of channels tie at 6 and the output cannot tell them apart.
 */
import type { UnitKind } from '../output/paths.ts';
import type { UnitResult } from './method.ts';
import type { UnitQuality } from './quality.ts';

/** A filter is selective when at most this many channels (ties included) are as or more activated. */
export const SELECTIVE_TOP = 3;
/** A unit is stalled when more than this share of its consecutive frames are identical. */
export const STALLED_SHARE = 0.5;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Share of consecutive frame pairs whose bytes are identical (0 with fewer than 3 frames). */
export function unchangedShare(frames: Uint8Array[]): number {
  if (frames.length < 3) return 0;
  let same = 0;
  for (let i = 1; i < frames.length; i++) if (sameBytes(frames[i - 1]!, frames[i]!)) same++;
  return same / (frames.length - 1);
}

/** A curve whose values differ by no more than float rounding of its largest (relative 1e-6, a few float32 units). */
export function flat(curve: number[]): boolean {
  if (curve.length < 2) return false;
  const hi = Math.max(...curve);
  const lo = Math.min(...curve);
  return hi - lo <= 1e-6 * Math.max(Math.abs(hi), Math.abs(lo), 1);
}

export function unitFlags(kind: UnitKind, r: UnitResult, quality: UnitQuality | undefined): string[] {
  if (r.error) return [];
  const flags: string[] = [];
  const dead = r.still === true || (kind === 'filter' && (Math.max(...r.curve.map(Math.abs)) < 1e-6 || flat(r.curve)));
  if (dead) flags.push('dead');
  else if (unchangedShare(r.frames) > STALLED_SHARE) flags.push('stalled');
  if (quality && 'top1IsTarget' in quality && !quality.top1IsTarget) flags.push('not-top1');
  if (quality && 'rank' in quality && !dead) {
    const q = quality.preActivation ?? quality;
    if (q.rank + q.ties >= SELECTIVE_TOP) flags.push('not-selective');
  }
  return flags;
}
