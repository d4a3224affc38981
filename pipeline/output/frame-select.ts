/**
 * Which recorded frames a compact GIF keeps: chosen by how much the image changes, not at a fixed
 * step. The early steps of an optimization change the image most, so equal shares of the total
 * change put more frames there. Pure: RGB frames in, indices out.
 */

/** Mean absolute difference per byte between two RGB frames of one size. */
export function frameChange(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`frameChange: frames of ${a.length} and ${b.length} bytes`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return a.length ? sum / a.length : 0;
}

/**
 * Indices (ascending, distinct) of at most `count` frames: always the first and the last; between
 * them the frames where the cumulative change since the first frame first reaches k/(count−1) of
 * the total. Where the image barely changes (or stops), fewer frames come out rather than repeats,
 * and the rest are filled by equal steps so the GIF keeps `count` frames when there are that many.
 */
export function selectFramesByChange(frames: Uint8Array[], count: number): number[] {
  const n = frames.length;
  if (n === 0) throw new Error('selectFramesByChange: no frames');
  if (count >= n) return frames.map((_, i) => i);
  if (count <= 1) return [n - 1];
  const cumulative = [0];
  for (let i = 1; i < n; i++) cumulative.push(cumulative[i - 1]! + frameChange(frames[i - 1]!, frames[i]!));
  const total = cumulative[n - 1]!;
  const picked = new Set<number>([0, n - 1]);
  if (total > 0)
    for (let k = 1; k < count - 1; k++) {
      const target = (total * k) / (count - 1);
      const i = cumulative.findIndex((c) => c >= target);
      if (i > 0 && i < n - 1) picked.add(i);
    }
  // Fill up to `count` with the frames farthest (in index) from any picked one.
  while (picked.size < count) {
    const sorted = [...picked].sort((a, b) => a - b);
    let best = -1;
    let gap = 0;
    for (let j = 1; j < sorted.length; j++)
      if (sorted[j]! - sorted[j - 1]! > gap) {
        gap = sorted[j]! - sorted[j - 1]!;
        best = sorted[j - 1]! + Math.floor(gap / 2);
      }
    if (gap < 2) break;
    picked.add(best);
  }
  return [...picked].sort((a, b) => a - b);
}
