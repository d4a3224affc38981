/**
 * A unit's quality numbers (pipeline/render/quality.ts, stored in ManifestUnit.quality) as the rows
 * a unit page shows. Atlases made before a number existed simply lack its row.
 */
import { classQualityOf, filterQualityOf, type FilterQualityEntry, type ManifestUnit } from '../../pipeline/output/manifest-schema.ts';

type FilterRank = Omit<FilterQualityEntry, 'preActivation'>;

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Where the target ranks among the layer's channels, in words. */
export function rankText(r: FilterRank): string {
  if (r.rank === 0 && r.ties === 0) return `the most activated of ${r.channels} channels`;
  if (r.rank === 0) return `the most activated of ${r.channels} channels, tied with ${r.ties} other${r.ties === 1 ? '' : 's'}`;
  return `${ordinal(r.rank + 1)} of ${r.channels} channels (the most activated: channel ${r.top})`;
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;

/** [row header, value] pairs; none when the unit has no quality numbers. `label` names a class id (the model's top-1 when it is another class). */
export function qualityRows(unit: ManifestUnit, label: (id: number) => string = (id) => `class ${id}`): [string, string][] {
  const f = filterQualityOf(unit);
  if (f) {
    return [['target channel, on the optimized image', rankText(f)], ...(f.preActivation ? ([['target channel, before the layer’s ReLU clip', rankText(f.preActivation)]] as [string, string][]) : [])];
  }
  const c = classQualityOf(unit);
  if (c) {
    return [
      ['top-1 on the optimized image', c.top1IsTarget ? 'this class' : `${c.top1} ${label(c.top1)}`],
      [`top-1 on ${c.copies} shifted and scaled copies`, `this class on ${percent(c.jitterTop1Rate)}`],
    ];
  }
  return [];
}

export type Mark = 'good' | 'fair' | 'poor';

/**
 * A plain-language reading of each row of `qualityRows` (same order), with a mark. Thresholds:
 * - a filter's target channel: good when it is the only most activated channel, fair when it is
 *   among the top 3 (or tied at the top, e.g. several ReLU6 channels at the cap), else poor;
 * - a class, on the image: good when the model's top-1 is the class, fair when the class is in its
 *   top 5, else poor;
 * - a class, on the shifted and scaled copies: good when ≥ 90% stay top-1, fair when ≥ 50%, else
 *   poor (an image that works only at one pixel alignment is adversarial, not a picture of the class).
 */
export function qualityReadings(unit: ManifestUnit): { mark: Mark; text: string }[] {
  const rank = (r: FilterRank): { mark: Mark; text: string } =>
    r.rank === 0 && r.ties === 0
      ? { mark: 'good', text: 'the image drives this channel more than any other' }
      : r.rank < 3
        ? { mark: 'fair', text: 'the image drives this channel, but others as much or more' }
        : { mark: 'poor', text: 'the image drives other channels more: it shows something else too' };
  const f = filterQualityOf(unit);
  if (f) return [rank(f), ...(f.preActivation ? [rank(f.preActivation)] : [])];
  const c = classQualityOf(unit);
  if (!c) return [];
  const image: { mark: Mark; text: string } = c.top1IsTarget
    ? { mark: 'good', text: 'the model sees this class in the image' }
    : c.top5HasTarget
      ? { mark: 'fair', text: 'the class is among the model’s five best guesses, not the first' }
      : { mark: 'poor', text: 'the model does not see this class in the image' };
  const copies: { mark: Mark; text: string } =
    c.jitterTop1Rate >= 0.9
      ? { mark: 'good', text: 'robust: small shifts and zooms keep the class' }
      : c.jitterTop1Rate >= 0.5
        ? { mark: 'fair', text: 'fairly robust: some shifts and zooms lose the class' }
        : { mark: 'poor', text: 'fragile: most shifts and zooms lose the class (adversarial pattern)' };
  return [image, copies];
}
