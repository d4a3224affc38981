/** A unit page's quality rows (src/lib/quality.ts): ranks in words, class copies, older atlases without numbers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManifestUnit } from '../pipeline/output/manifest.ts';
import { gridHtml, seenAs } from '../src/lib/grid.ts';
import { qualityReadings, qualityRows, rankText } from '../src/lib/quality.ts';

const rank = (r: number, ties = 0, top = 7) => ({ rank: r, ties, top, z: 1, channels: 384 });

test('a rank in words: most activated, tied, or its place and the channel above it', () => {
  assert.equal(rankText(rank(0)), 'the most activated of 384 channels');
  assert.equal(rankText(rank(0, 1)), 'the most activated of 384 channels, tied with 1 other');
  assert.equal(rankText(rank(0, 3)), 'the most activated of 384 channels, tied with 3 others');
  assert.equal(rankText(rank(1, 0, 98)), '2nd of 384 channels (the most activated: channel 98)');
  const places = [2, 3, 4, 10, 11, 12, 20, 21, 22, 100, 110, 111].map((r) => rankText(rank(r)).split(' ')[0]);
  assert.deepEqual(places, ['3rd', '4th', '5th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th', '112th']);
});

test('rows for filter and class units; none for a unit without quality numbers (older atlases)', () => {
  const base = { key: 'k', method: 'lecture', layer: 'l', index: 5 } as unknown as ManifestUnit;
  const filter = { ...base, kind: 'filter', quality: { ...rank(2, 0, 9), preActivation: rank(0) } } as unknown as ManifestUnit;
  assert.deepEqual(qualityRows(filter), [
    ['target channel, on the optimized image', '3rd of 384 channels (the most activated: channel 9)'],
    ['target channel, before the layer’s ReLU clip', 'the most activated of 384 channels'],
  ]);
  const cls = {
    ...base,
    kind: 'class',
    quality: { top5: [5, 1, 2, 3, 4], top1: 5, top1IsTarget: true, top5HasTarget: true, jitterTop1Rate: 0.9375, jitterTop5Rate: 1, copies: 16 },
  } as unknown as ManifestUnit;
  assert.deepEqual(qualityRows(cls), [
    ['top-1 on the optimized image', 'this class'],
    ['top-1 on 16 shifted and scaled copies', 'this class on 94%'],
  ]);
  assert.deepEqual(qualityRows({ ...base, kind: 'filter' } as unknown as ManifestUnit), []);
  // Not top-1: the class the model sees instead, with its label.
  const other = { ...cls, quality: { ...(cls.quality as object), top1: 3, top1IsTarget: false } } as unknown as ManifestUnit;
  assert.deepEqual(qualityRows(other, (id) => ['a', 'b', 'c', 'dishrag'][id]!)[0], ['top-1 on the optimized image', '3 dishrag']);
  const flagged = { ...other, flags: ['not-top1'] } as unknown as ManifestUnit;
  assert.equal(
    seenAs(flagged, (id) => `label ${id}`),
    'label 3',
  );
  assert.equal(
    seenAs({ ...other, flags: [] }, (id) => `label ${id}`),
    undefined,
    'only a flagged unit',
  );
  assert.match(gridHtml('classes/', [{ page: 'classes/5/', unit: flagged, caption: '5 five', seenAs: 'dishrag' }]), /<b class="tag bad">not-top1: seen as dishrag<\/b>/);
});

test('each quality row gets a good / fair / poor reading by the documented thresholds', () => {
  const base = { key: 'k', method: 'lecture', layer: 'l', index: 5, kind: 'filter' };
  const filter = (r: number, ties = 0) => ({ ...base, quality: rank(r, ties) }) as unknown as ManifestUnit;
  assert.deepEqual(
    [filter(0), filter(0, 2), filter(2), filter(3)].map((u) => qualityReadings(u)[0]!.mark),
    ['good', 'fair', 'fair', 'poor'],
  );
  const cls = (top1IsTarget: boolean, top5HasTarget: boolean, jitterTop1Rate: number) =>
    ({ ...base, kind: 'class', quality: { top5: [], top1: 5, top1IsTarget, top5HasTarget, jitterTop1Rate, jitterTop5Rate: 1, copies: 16 } }) as unknown as ManifestUnit;
  assert.deepEqual(
    qualityReadings(cls(true, true, 0.9)).map((r) => r.mark),
    ['good', 'good'],
  );
  assert.deepEqual(
    qualityReadings(cls(false, true, 0.5)).map((r) => r.mark),
    ['fair', 'fair'],
  );
  assert.deepEqual(
    qualityReadings(cls(false, false, 0.4375)).map((r) => r.mark),
    ['poor', 'poor'],
  );
  assert.equal(qualityReadings(cls(true, true, 1)).length, qualityRows(cls(true, true, 1)).length);
  assert.deepEqual(qualityReadings({ ...base } as unknown as ManifestUnit), []);
});
