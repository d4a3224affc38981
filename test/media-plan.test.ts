/**
 * The media budget planner (output/media-plan.ts): unit shapes × a budget → one tier for every
 * unit; the whole MobileNet v1 0.75 atlas at the default budget; a budget nothing fits is a config
 * error (exit 2, naming the minimum) before anything is written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import { BudgetTooSmall, estimateAtlas, estimateUnit, formatBytes, parseBytes, planMedia, TIERS, type UnitShape } from '../pipeline/output/media-plan.ts';
import { frameChange, selectFramesByChange } from '../pipeline/output/frame-select.ts';
import { M025, runCli, tempDir, writeConfig } from './support/fixtures.ts';

const filter = (frames = 31): UnitShape => ({ kind: 'filter', deprocess: 'lecture', width: 174, height: 174, frames });
const klass = (frames = 41): UnitShape => ({ kind: 'class', deprocess: 'clip', width: 224, height: 224, frames });
const many = (n: number, u: UnitShape) => Array.from({ length: n }, () => u);
/** MobileNet v1 0.75: 13 pointwise layers, 4,464 filters; 1,000 classes; lecture defaults at 224 px. */
const WHOLE = [...many(4464, filter()), ...many(1000, klass())];

test('budget sizes: binary units, numbers as bytes, nonsense refused', () => {
  assert.equal(parseBytes('1GB'), 1024 ** 3);
  assert.equal(parseBytes('750 mb'), 750 * 1024 ** 2);
  assert.equal(parseBytes('1.5GB'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes(123456), 123456);
  for (const bad of ['', 'big', '-1GB', '0', '1 PB', 0, -5]) assert.equal(parseBytes(bad), undefined, String(bad));
  assert.equal(formatBytes(parseBytes('1GB')!), '1.00 GB');
  assert.equal(configSchema.parse({ model: { id: 'm', source: 'x' } }).site.budget, '1GB');
  assert.equal(configSchema.parse({ model: { id: 'm', source: 'x' } }).site.media, 'budget');
  assert.throws(() => configSchema.parse({ model: { id: 'm', source: 'x' }, site: { budget: 'lots' } }), /budget/);
});

test('estimates grow with pixels and frames, and shrink down the ladder', () => {
  for (const t of TIERS) {
    assert.ok(estimateUnit(t, klass()).total > estimateUnit(t, { ...klass(), width: 100, height: 100 }).total, t.name);
    assert.ok(estimateUnit(t, filter(31)).total >= estimateUnit(t, filter(13)).total, t.name);
  }
  for (let i = 1; i < TIERS.length; i++) assert.ok(estimateAtlas(TIERS[i]!, WHOLE) < estimateAtlas(TIERS[i - 1]!, WHOLE), `${TIERS[i]!.name} is not smaller than ${TIERS[i - 1]!.name}`);
});

test('a small atlas keeps full media; more units under the same budget get smaller tiers that still fit', () => {
  const budget = parseBytes('1GB')!;
  assert.equal(planMedia([...many(64, filter()), ...many(4, klass())], budget).tier.name, 'full');
  let previous = 0;
  for (const n of [68, 300, 1000, 2000, 4000, 5464]) {
    const units = WHOLE.slice(0, n);
    const plan = planMedia(units, budget);
    const rank = TIERS.indexOf(plan.tier);
    assert.ok(rank >= previous, `${n} units got a richer tier (${plan.tier.name}) than fewer units`);
    assert.ok(plan.estimate <= budget, `${n} units: estimate ${plan.estimate} over the budget`);
    assert.equal(plan.estimate, estimateAtlas(plan.tier, units));
    previous = rank;
  }
});

test('the whole MobileNet v1 0.75 atlas fits 1 GB with GIFs of at least 12 frames and 160 px, an image, a thumbnail and a frames download', () => {
  const plan = planMedia(WHOLE, parseBytes('1GB')!);
  assert.ok(plan.estimate <= 1024 ** 3);
  const { gif } = plan.tier;
  assert.equal(gif.encoder, 'compact');
  if (gif.encoder === 'compact') {
    assert.ok(gif.frames >= 12 && gif.size >= 160, JSON.stringify(gif));
  }
  const u = estimateUnit(plan.tier, WHOLE[0]!);
  assert.ok(u.image > 0 && u.thumb > 0 && u.gif > 0);
  assert.equal(plan.tier.zip, 'browser');
  // ~190 kB per unit on average, pages and sheets included.
  assert.ok(plan.estimate / WHOLE.length < 200_000, `${plan.estimate / WHOLE.length} bytes per unit`);
});

test('media: full and a tier name ignore the budget', () => {
  assert.equal(planMedia(WHOLE, 1000, 'full').tier.name, 'full');
  assert.equal(planMedia(WHOLE, 1000, 'small').tier.name, 'small');
});

test('a budget nothing fits names the minimum', () => {
  const units = many(5000, filter());
  const minimum = estimateAtlas(TIERS[TIERS.length - 1]!, units);
  assert.throws(
    () => planMedia(units, parseBytes('100MB')!),
    (err: unknown) => err instanceof BudgetTooSmall && err.minimum === minimum && err.message.includes(formatBytes(Math.ceil(minimum))) && err.message.includes('5000 units'),
  );
  // Just enough for the minimum: that tier.
  assert.equal(planMedia(units, Math.ceil(minimum)).tier.name, 'minimum');
});

test('frames chosen by change: first and last kept, more frames where the image changes most, no repeats', () => {
  // An image that moves fast early and slowly later (as an optimization does).
  const n = 31;
  const frames = Array.from({ length: n }, (_, k) => new Uint8Array(300).fill(Math.round(250 * (1 - Math.exp(-k / 4)))));
  const picked = selectFramesByChange(frames, 12);
  assert.equal(picked.length, 12);
  assert.equal(picked[0], 0);
  assert.equal(picked.at(-1), n - 1);
  assert.deepEqual(
    picked,
    [...new Set(picked)].sort((a, b) => a - b),
  );
  const early = picked.filter((i) => i < n / 2).length;
  assert.ok(early > 12 - early, `only ${early} of 12 frames in the first half: ${picked}`);
  // The change between consecutive chosen frames is spread more evenly than a fixed step's.
  const spread = (idx: number[]) => {
    const d = idx.slice(1).map((v, i) => frameChange(frames[idx[i]!]!, frames[v]!));
    return Math.max(...d) / Math.max(1e-9, Math.min(...d));
  };
  const fixed = Array.from({ length: 12 }, (_, k) => Math.round((k * (n - 1)) / 11));
  assert.ok(spread(picked) < spread(fixed));
  // A frozen optimization still gets its frames (filled by index), fewer frames than asked: all of them.
  const still = Array.from({ length: n }, () => new Uint8Array(30));
  assert.equal(selectFramesByChange(still, 12).length, 12);
  assert.deepEqual(selectFramesByChange(frames.slice(0, 5), 12), [0, 1, 2, 3, 4]);
});

test('the CLI exits 2 before any work when the budget cannot hold the atlas, naming the minimum', async () => {
  const dir = await tempDir('fa-budget-');
  try {
    const out = path.join(dir, 'out');
    const config = await writeConfig(
      dir,
      [`model: { id: ${M025}, source: ${M025} }`, 'layers: { conv_pw_3_relu: 0-15 }', 'classes: [1, 2]', `output: ${JSON.stringify(out)}`, 'site:', '  budget: 200kB', ''].join('\n'),
    );
    const r = await runCli(['pipeline', '--config', config, '--quiet']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /site\.budget/);
    assert.match(r.stderr, /200 kB cannot hold 18 units/);
    assert.match(r.stderr, /at least \d+(\.\d+)? MB/);
    assert.match(r.stderr, /atlas\.config\.yaml/);
    await assert.rejects(fs.access(out), 'the output folder was created');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('GIF pages name the recorded frames they show, identical frames merged by the encoder included', async () => {
  const { encodeCompactGif } = await import('../pipeline/output/images.ts');
  const { gifPages } = await import('../pipeline/output/encode-unit.ts');
  const grey = (v: number) => new Uint8Array(8 * 8 * 3).fill(v);
  const o = { size: 160, colours: 16, interFrameMaxError: 0, frameMs: 80 };
  // Frames 0 and 1 identical, 2 different, 3 and 4 identical.
  const frames = [grey(10), grey(10), grey(200), grey(90), grey(90)];
  const { gif } = await encodeCompactGif(frames, 8, 8, o);
  assert.deepEqual(await gifPages(gif, [0, 1, 2, 3, 4], 80), [0, 2, 4]);
  const dead = await encodeCompactGif([grey(5), grey(5), grey(5)], 8, 8, o);
  assert.deepEqual(await gifPages(dead.gif, [0, 4, 9], 80), [9]);
  const moving = await encodeCompactGif([grey(5), grey(100), grey(200)], 8, 8, o);
  assert.deepEqual(await gifPages(moving.gif, [0, 4, 9], 80), [0, 4, 9]);
});

test('page starts follow the delays, also when the GIF rounded them to centiseconds', async () => {
  const { frameDelays, pageStarts } = await import('../pipeline/output/images.ts');
  // Frames 1 and 2 merged into one page (their delays summed), the last held.
  assert.deepEqual(pageStarts([80, 160, 800], frameDelays(4, 80)), [0, 1, 3]);
  // 75-ms frames stored as 80, 150 and 750 ms.
  assert.deepEqual(pageStarts([80, 150, 750], frameDelays(4, 75)), [0, 1, 3]);
  // Nothing merged: one page per frame.
  assert.deepEqual(pageStarts(frameDelays(5, 40), frameDelays(5, 40)), [0, 1, 2, 3, 4]);
});
