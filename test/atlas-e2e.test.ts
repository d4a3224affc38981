/**
 * The whole path on real models: config → pipeline → manifest → images → static site.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { BACKEND_NAMES, selectBackend } from '../pipeline/engine/backend.ts';
import { loadLayersModelFromFile } from '../pipeline/model/load.ts';
import { frameDelays } from '../pipeline/output/images.ts';
import { classQualityOf, filterQualityOf, readManifest, type Manifest, type ManifestUnit } from '../pipeline/output/manifest.ts';
import { pages } from '../pipeline/output/paths.ts';
import { rankText } from '../src/lib/quality.ts';
import { M025, M075, MODELS, runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { assertLinksResolve } from './support/site-links.ts';

/**
 * Writes `yaml` (whose `output` is `data`) into a fresh folder and runs the CLI on it: `build`
 * (pipeline, then the site into `dist`) or only `pipeline`. Asserts exit 0; returns the folders and manifest.
 */
/** A unit ran its steps; a class unit not yet top-1 by the margin may have continued past them, up to its maxSteps. */
function assertStepsRun(u: ManifestUnit): void {
  const ran = u.curve.length - 1;
  if (ran === u.settings.steps) return;
  const max = u.settings.maxSteps;
  assert.ok(u.kind === 'class' && max !== undefined && ran > u.settings.steps && ran <= max, `${u.key}: ran ${ran} steps, settings ${u.settings.steps} (up to ${max})`);
}

async function runAtlas(yaml: string, command: 'build' | 'pipeline', env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<{ data: string; dist: string; m: Manifest }> {
  const dir = await tempDir();
  const config = await writeConfig(dir, yaml);
  const dist = path.join(dir, 'dist');
  const run = await runCli([command, '--config', config, ...(command === 'build' ? ['--dist', dist] : []), '--quiet', ...extra], env);
  assert.equal(run.code, 0, run.stderr);
  const data = path.join(dir, 'data');
  return { data, dist, m: await readManifest(data) };
}

test('build:atlas on the 0.25 model (by folder path): pages, images, GIFs, contact sheets, links', async () => {
  const { data, dist, m } = await runAtlas(
    `model:
  id: small-mobilenet
  source: ${path.join(MODELS, M025)}
layers:
  conv_pw_1_relu: 0-3
  conv_pw_11_relu: [0, 5, "10-11"]
classes: [141, goldfish]
render:
  size: 96
  filters: { steps: 8 }
  classes: { steps: 8 }
  batch: 3
  gifFrameMs: 50
output: data
site:
  title: Test atlas
  url: https://example.org
  base: /ignored/
`,
    'build',
    {},
    // A one-off deploy: the public URL and base from the command line win over site.url and site.base.
    ['--site-url', 'https://lecture.example.edu', '--base', '/atlas/'],
  );
  assert.equal(m.model.id, 'small-mobilenet');
  const home = await fs.readFile(path.join(dist, 'index.html'), 'utf8');
  assert.match(home, /<link rel="canonical" href="https:\/\/lecture\.example\.edu\/atlas\/"/);
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.filters]),
    [
      ['conv_pw_1_relu', [0, 1, 2, 3]],
      ['conv_pw_11_relu', [0, 5, 10, 11]],
    ],
  );
  assert.deepEqual(
    m.classes.map((c) => c.id),
    [141, 1],
  );
  assert.equal(m.units.length, 10);
  assert.ok((BACKEND_NAMES as readonly string[]).includes(m.backend.name));

  for (const u of m.units) {
    assert.equal(u.status, 'ok', `${u.key}: ${u.error}`);
    assertStepsRun(u);
    assert.equal(u.startObjective, u.curve[0]);
    const png = await sharp(path.join(data, u.files!.png)).metadata();
    assert.deepEqual([png.width, png.height], [u.width, u.height]);
    const gif = await sharp(path.join(data, u.files!.gif), { animated: true }).metadata();
    assert.equal(gif.format, 'gif');
    // conv_pw_1_relu filter 3 of this model has all-zero weights: it cannot move, does not step, and is dead (one GIF frame).
    const dead = u.key === 'lecture/filter/conv_pw_1_relu/3';
    assert.equal(u.flags.includes('dead'), dead, `${u.key}: flags ${u.flags.join(', ')}`);
    if (dead) assert.equal(gif.pages, 1, `${u.key}: an unmoving unit's frames are one picture`);
    else assert.ok((gif.pages ?? 0) > 1, `${u.key}: GIF has ${gif.pages} frames`);
    // Identical consecutive frames are merged by the encoder, their delays summed: same duration.
    assert.ok(gif.pages! <= u.frames);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(sum(gif.delay ?? []), sum(frameDelays(u.frames, 50)));
    assert.equal(gif.loop, 0, 'GIF loops forever');
    assert.ok(gif.delay && gif.delay.length === gif.pages && gif.delay.every((d) => d > 0), `${u.key}: delays ${gif.delay}`);
    const webp = await sharp(path.join(data, u.files!.webp)).metadata();
    assert.equal(webp.format, 'webp');
  }
  // One contact sheet per layer (≤ 64 filters): 4 tiles in one row, 5-px margins.
  for (const layer of m.layers) {
    const sheet = layer.sheets.lecture![0]!;
    const meta = await sharp(path.join(data, sheet.file)).metadata();
    const tile = m.units.find((u) => u.layer === layer.name)!;
    assert.deepEqual([meta.width, meta.height], [4 * tile.width + 3 * 5, tile.height]);
  }

  // The site: home, a page per layer, filter and class, under the base path.
  const expected = ['index.html', 'classes/index.html', ...m.layers.map((l) => `${pages.layer(l.name)}index.html`)];
  for (const l of m.layers) for (const f of l.filters) expected.push(`${pages.filter(l.name, f)}index.html`);
  for (const c of m.classes) expected.push(`${pages.class(c.id)}index.html`);
  for (const p of expected) await fs.access(path.join(dist, p));
  // Every image and link a page references exists (`data-gif`: the GIF a unit page swaps in on Play).
  const images = await assertLinksResolve(dist, '/atlas/');
  assert.ok(images >= m.units.length * 2, `only ${images} image references`);
  // Safe layer names are their own slugs in the manifest (and so in every URL).
  assert.deepEqual(
    m.layers.map((l) => l.slug),
    ['conv_pw_1_relu', 'conv_pw_11_relu'],
  );
});

test('class images of the default model are classified as their class (top-1), read back from the PNG files', async () => {
  // The URL is not reachable here: ATLAS_MODELS must be searched first by id.
  const { data: out, m } = await runAtlas(
    `model:
  id: ${M075}
  source: https://models.invalid/${M075}/model.json
classes: [141, goldfish, espresso]
output: data
`,
    'pipeline',
    { ATLAS_MODELS: MODELS },
  );
  assert.equal(m.model.score, 'logit');
  assert.equal(m.model.scoreLayer, 'conv_preds');
  await selectBackend('auto');
  const { model } = await loadLayersModelFromFile(path.join(MODELS, M075, 'model.json'));
  for (const u of m.units) {
    const { data, info } = await sharp(path.join(out, u.files!.png)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const top = tf.tidy(() => {
      const x = tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32').toFloat().div(127.5).sub(1);
      const input = tf.image.resizeBilinear(x as tf.Tensor3D, [224, 224]).expandDims(0);
      return (model.predict(input) as tf.Tensor).argMax(-1).dataSync()[0];
    });
    assert.equal(top, u.index, `class ${u.index} (${u.label}): its image is classified as ${top}`);
    assert.equal(classQualityOf(u)?.top1, u.index);
  }
});

test('filter images activate their filter far more than their start noise (default settings, 0.75 model)', async () => {
  const { m } = await runAtlas(
    `model:
  id: ${M075}
  source: ${path.join(MODELS, M075)}
layers:
  conv_pw_5_relu: 0-3
  conv_pw_13_relu: 0-3
output: data
`,
    'pipeline',
  );
  // MobileNet's activations are ReLU6: an objective at the cap cannot rise further.
  const CAP = 6;
  for (const u of m.units) {
    assert.ok(!u.flags.includes('dead'), `${u.key} is dead`);
    const ratio = u.finalObjective / Math.max(u.startObjective, 1e-6);
    assert.ok(ratio >= 2 || u.finalObjective >= 0.99 * CAP, `${u.key}: ${u.startObjective} → ${u.finalObjective}`);
  }
});

test('two methods side by side: both rendered per unit, on the same pages, with class and filter quality numbers', async () => {
  const { dist, m } = await runAtlas(
    `model:
  id: ${M025}
  source: ${path.join(MODELS, M025)}
layers:
  conv_pw_3_relu: [2, 9]
classes: [goldfish]
render:
  methods: [lecture, lucid]
  size: 64
  filters: { steps: 4 }
  classes: { steps: 4 }
  lucid: { steps: 6, frameEvery: 2 }
  batch: 2
output: data
site: { base: /two/ }
`,
    'build',
  );
  assert.deepEqual(
    m.methods.map((x) => x.id),
    ['lecture', 'lucid'],
  );
  assert.deepEqual(m.units.map((u) => u.key).sort(), [
    'lecture/class/1',
    'lecture/filter/conv_pw_3_relu/2',
    'lecture/filter/conv_pw_3_relu/9',
    'lucid/class/1',
    'lucid/filter/conv_pw_3_relu/2',
    'lucid/filter/conv_pw_3_relu/9',
  ]);
  for (const u of m.units) {
    assert.equal(u.status, 'ok', `${u.key}: ${u.error}`);
    assertStepsRun(u);
  }
  for (const u of m.units.filter((x) => x.kind === 'class')) {
    const q = classQualityOf(u)!;
    assert.equal(q.copies, 16);
    // A share of the 16 copies: k/16 for some whole k.
    const k = q.jitterTop1Rate * q.copies;
    assert.ok(Math.abs(k - Math.round(k)) < 1e-9 && k >= 0 && k <= q.copies, `jitterTop1Rate ${q.jitterTop1Rate}`);
    assert.equal(q.top5.length, 5);
  }
  // Filters: the target's rank among the layer's channels on the final optimized image.
  const channels = m.layers.find((l) => l.name === 'conv_pw_3_relu')!.filterCount;
  for (const u of m.units.filter((x) => x.kind === 'filter')) {
    const q = filterQualityOf(u)!;
    for (const r of [q, q.preActivation!]) {
      assert.equal(r.channels, channels, u.key);
      assert.ok(Number.isInteger(r.rank) && r.rank >= 0 && r.rank + r.ties < channels, `${u.key}: rank ${r.rank}, ties ${r.ties}`);
      if (r.rank === 0 && r.ties === 0) assert.equal(r.top, u.index, u.key);
      if (r.rank > 0) assert.notEqual(r.top, u.index, u.key);
    }
  }
  const page = await fs.readFile(path.join(dist, pages.filter('conv_pw_3_relu', 9), 'index.html'), 'utf8');
  for (const meth of m.methods) assert.ok(page.includes(meth.name.replace(/&/g, '&amp;')), `filter page shows ${meth.name}`);
  for (const u of m.units.filter((x) => x.kind === 'filter' && x.index === 9)) assert.ok(page.includes(rankText(filterQualityOf(u)!)), `filter page shows the rank of ${u.key}`);
  for (const u of m.units.filter((x) => x.kind === 'filter' && x.index === 9)) assert.ok(page.includes(u.files!.png), `filter page shows ${u.key}`);
});
