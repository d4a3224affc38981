/** Comparing two renders of the same units (chained against one step per call, and the like). */
import type { UnitResult } from '../../pipeline/render/method.ts';

/**
 * What differs between two renders of the same units: frame counts and bytes (by more than 1),
 * curves (relative 1e-3: a class logit's gradient sums to ~300 over a 64-px image, so float-rounding
 * differences of 1e-6 in the pixels move it by ~3e-4), and whether a unit never stepped.
 */
export function differences(a: UnitResult[], b: UnitResult[]): string[] {
  const out: string[] = [];
  a.forEach((u, i) => {
    const v = b[i]!;
    if (u.frames.length !== v.frames.length) out.push(`${u.key}: ${u.frames.length} frames vs ${v.frames.length}`);
    if (u.curve.length !== v.curve.length) out.push(`${u.key}: curve of ${u.curve.length} vs ${v.curve.length}`);
    u.frames.forEach((f, j) => {
      const g = v.frames[j];
      if (!g) return;
      let worst = 0;
      for (let q = 0; q < f.length; q++) worst = Math.max(worst, Math.abs(f[q]! - g[q]!));
      if (worst > 1) out.push(`${u.key}: frame ${j} differs by ${worst}`);
    });
    u.curve.forEach((x, j) => {
      const y = v.curve[j]!;
      if (Math.abs(x - y) > 1e-3 * Math.max(1, Math.abs(x))) out.push(`${u.key}: curve[${j}] ${x} vs ${y}`);
    });
    if (u.still !== v.still) out.push(`${u.key}: still ${u.still} vs ${v.still}`);
  });
  return out;
}
