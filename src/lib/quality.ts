/**
 * A unit's quality numbers (pipeline/render/quality.ts, stored in ManifestUnit.quality) as the rows
 * a unit page shows. Atlases made before a number existed simply lack its row.
 */
import { classQualityOf, filterQualityOf, type FilterQualityEntry, type ManifestUnit } from '../../pipeline/output/manifest.ts';

type FilterRank = Omit<FilterQualityEntry, 'preActivation'>;

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** Where the target ranks among the layer's channels, in words. */
export function rankText(r: FilterRank): string {
  if (r.rank === 0 && r.ties === 0) return `the most activated of ${r.channels} channels`;
  if (r.rank === 0) return `the most activated of ${r.channels} channels, tied with ${r.ties} other${r.ties === 1 ? '' : 's'}`;
  return `${ordinal(r.rank + 1)} of ${r.channels} channels (the most activated: channel ${r.top})`;
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;

/** [row header, value] pairs; none when the unit has no quality numbers. */
export function qualityRows(unit: ManifestUnit): [string, string][] {
  const f = filterQualityOf(unit);
  if (f) {
    return [
      ['target channel, on the optimized image', rankText(f)],
      ...(f.preActivation ? ([['target channel, before the layer’s ReLU clip', rankText(f.preActivation)]] as [string, string][]) : []),
    ];
  }
  const c = classQualityOf(unit);
  if (c) {
    return [
      ['top-1 on the optimized image', c.top1IsTarget ? 'this class' : `class ${c.top1}`],
      [`top-1 on ${c.copies} shifted and scaled copies`, `this class on ${percent(c.jitterTop1Rate)}`],
    ];
  }
  return [];
}
