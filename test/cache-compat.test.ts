/**
 * Atlases made before methods became bundles of parts stay valid: a real atlas made by commit
 * 7ad3bbb (test/fixtures/atlas-7ad3bbb: both methods, filters with the `share` objective, a class,
 * a start photo, the old config keys) is reused unit for unit by today's pipeline, with its config
 * as written and with the same config in today's keys.
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

const TODAYS_KEYS = (old: string) =>
  old
    .replace(/  crop: 4\n  photo: cat.png\n  frameEvery: 2\n  filters: \{ steps: 2, objective: share \}\n  classes: \{ steps: 2 \}\n/, '  lecture:\n    crop: 4\n    photo: cat.png\n    frameEvery: 2\n    filters: { steps: 2 }\n    filterObjective: share\n    classes: { steps: 2 }\n');

for (const variant of ['old keys', "today's keys"] as const) {
  test(`an atlas made at 7ad3bbb is reused without recomputing (${variant})`, async () => {
    const dir = await copyFixture();
    const config = path.join(dir, 'atlas.config.yaml');
    const text = await fs.readFile(config, 'utf8');
    if (variant === "today's keys") {
      const updated = TODAYS_KEYS(text);
      assert.notEqual(updated, text, 'the fixture config has the old lecture keys');
      await fs.writeFile(config, updated);
    }
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
