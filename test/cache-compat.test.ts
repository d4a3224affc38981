/**
 * Atlases made before methods became bundles of parts stay valid: a real atlas made by commit
 * 7ad3bbb (test/fixtures/atlas-7ad3bbb: both methods, filters with the `share` objective, a class,
 * a start photo, the old config keys) is reused unit for unit by today's pipeline, with its config
 * as written and with the same config in today's keys, once the defaults that changed since
 * (projected ascent for clipped units, the lecture pre-activation at a capped layer, the border
 * scaled to the image, class continuation, lucid's view) are pinned to their old values. Left at today's defaults,
 * exactly the units they shape are recomputed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../pipeline/output/manifest.ts';
import { ROOT, runCli, tempDir } from './support/fixtures.ts';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'atlas-7ad3bbb');

async function copyFixture(): Promise<string> {
  const dir = await tempDir('atlas-compat-');
  await fs.cp(FIXTURE, dir, { recursive: true });
  return dir;
}

const OLD_KEYS = / {2}crop: 4\n {2}photo: cat.png\n {2}frameEvery: 2\n {2}filters: \{ steps: 2, objective: share \}\n {2}classes: \{ steps: 2 \}\n/;
/** The defaults of 7ad3bbb for what changed since, in the config's own style. */
const PINNED = {
  'old keys': '  classes: { steps: 2, projected: false, maxSteps: 2 }\n  lecture: { preActivation: false }\n  border: 2\n',
  "today's keys":
    '  lecture:\n    crop: 4\n    photo: cat.png\n    frameEvery: 2\n    filters: { steps: 2 }\n    filterObjective: share\n    classes: { steps: 2, projected: false, maxSteps: 2 }\n    preActivation: false\n  border: 2\n',
};
/** Lucid's class continuation (default: 3 × steps) pinned off, its transforms' pixels as they were before they scaled with the image (`auto`), and the model's view Lucid's padded window (today: the image's size). */
const LUCID = ['  lucid: { steps: 2, frameEvery: 1 }\n', '  lucid: { steps: 2, frameEvery: 1, classes: { maxSteps: 2 }, transforms: { pad: 12, jitter: 8, jitter2: 4, view: window } }\n'] as const;
const pin = (old: string, variant: keyof typeof PINNED) =>
  old
    .replace(OLD_KEYS, variant === 'old keys' ? '  crop: 4\n  photo: cat.png\n  frameEvery: 2\n  filters: { steps: 2, objective: share }\n' + PINNED[variant] : PINNED[variant])
    .replace(LUCID[0], LUCID[1]);

for (const variant of ['old keys', "today's keys"] as const) {
  test(`an atlas made at 7ad3bbb is reused without recomputing (${variant})`, async () => {
    const dir = await copyFixture();
    const config = path.join(dir, 'atlas.config.yaml');
    const text = await fs.readFile(config, 'utf8');
    const pinned = pin(text, variant);
    assert.notEqual(pinned, text, 'the fixture config has the old lecture keys');
    await fs.writeFile(config, pinned);
    const before = await readManifest(path.join(dir, 'output'));
    const r = await runCli(['pipeline', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing to compute: all 6 units/);
    assert.match(r.stderr, /done: 0 computed, 6 reused, 0 failed/);
    if (variant === 'old keys') assert.match(r.stderr, /note: render\.crop is now render\.lecture\.crop/);
    else assert.doesNotMatch(r.stderr, /note: render\./);
    const after = await readManifest(path.join(dir, 'output'));
    assert.deepEqual(
      after.units.map((u) => u.cacheKey),
      before.units.map((u) => u.cacheKey),
    );
  });
}

test("today's defaults recompute exactly the units they shape", async () => {
  const dir = await copyFixture();
  const r = await runCli(['pipeline', '--config', path.join(dir, 'atlas.config.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  // Lecture: 2 filters (pre-activation, border) and the class (projected, continuation); lucid: 2 filters (border at 32 px is 0) and the class (continuation), all 3 also by their transforms (at 32 px: pad 2, jitters 1).
  assert.match(r.stderr, /done: 6 computed, 0 reused, 0 failed/);
  const m = await readManifest(path.join(dir, 'output'));
  const lecture = m.units.filter((u) => u.method === 'lecture');
  assert.ok(lecture.filter((u) => u.kind === 'filter').every((u) => (u.settings as { preActivation?: boolean }).preActivation === true));
  assert.equal((lecture.find((u) => u.kind === 'class')!.settings as { projected?: boolean }).projected, true);
  assert.ok(m.units.filter((u) => u.kind === 'class').every((u) => u.settings.maxSteps === 6));
  assert.ok(m.units.filter((u) => u.kind === 'filter').every((u) => u.settings.border === 0));
  const lucid = m.units.filter((u) => u.method === 'lucid');
  assert.ok(
    lucid.length > 0 && lucid.every((u) => JSON.stringify((u.settings as { transforms?: unknown }).transforms) === JSON.stringify({ pad: 2, jitter: 1, scale: [0.9, 1.1], rotate: 10, jitter2: 1 })),
  );
});
