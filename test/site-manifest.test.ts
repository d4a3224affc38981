/**
 * The one manifest reader (pipeline/output/manifest.ts): a manifest written the old way (settings
 * without filterObjective, units without a frames ZIP or quality numbers, a non-finite objective
 * written as null) still loads and still builds a site; a broken one fails with the file and the
 * JSON path of the problem.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MANIFEST_FILE, classQualityOf, filterQualityOf, readManifest, readManifestIfAny } from '../pipeline/output/manifest.ts';
import { buildSite, tempDir } from './support/atlas-site.ts';

const lectureSettings = { steps: 3, stepSize: 10, l2: 0, size: [64, 64], border: 2, crop: 25, deprocess: 'lecture', frameEvery: 1, photo: null, redirect: true };
const files = (base: string) => ({ png: `${base}.png`, webp: `${base}.webp`, gif: `${base}.gif` });
const unit = (over: Record<string, unknown>): Record<string, unknown> => ({
  status: 'ok',
  flags: [],
  width: 64,
  height: 64,
  frames: 4,
  curve: [0.1, 0.5, 0.9, 1.2],
  startObjective: 0.1,
  finalObjective: 1.2,
  seed: 7,
  backend: 'wasm',
  seconds: 0.02,
  cacheKey: 'k',
  ...over,
});

/** A manifest as the pipeline wrote it before filterObjective, frames ZIPs and quality numbers. */
function oldManifest() {
  return {
    schemaVersion: 1,
    generatedAt: '2026-01-01T00:00:00.000Z',
    generator: 'filter-atlas 0.1.0',
    site: { title: 'Old atlas', url: 'https://example.org', base: '/' },
    model: { id: 'm', source: 'x', inputShape: [224, 224, 3], pixels: { range: [-1, 1] }, classCount: 1000, score: 'logit', scoreLayer: 'conv_preds', layerNames: ['conv1'], weightsHash: 'h' },
    backend: { name: 'wasm', skipped: [] },
    methods: [{ id: 'lecture', name: 'Lecture', description: 'd' }],
    layers: [{ name: 'conv1', slug: 'conv1', className: 'Conv2D', outputShape: [32, 32, 8], filterCount: 8, filters: [0, 1], sheets: { lecture: [] } }],
    classes: [{ id: 1, label: 'goldfish' }],
    units: [
      unit({ key: 'lecture/filter/conv1/0', kind: 'filter', method: 'lecture', layer: 'conv1', index: 0, label: 'conv1 #0', files: files('m/lecture/layers/conv1/0'), settings: lectureSettings }),
      unit({
        key: 'lecture/filter/conv1/1',
        kind: 'filter',
        method: 'lecture',
        layer: 'conv1',
        index: 1,
        label: 'conv1 #1',
        status: 'failed',
        error: 'NaN loss',
        curve: [0.1, null],
        finalObjective: null,
        settings: lectureSettings,
      }),
      unit({
        key: 'lecture/class/1',
        kind: 'class',
        method: 'lecture',
        layer: 'conv_preds',
        index: 1,
        label: 'goldfish',
        files: files('m/lecture/classes/1'),
        settings: { ...lectureSettings, redirect: undefined, score: 'logit', deprocess: 'clip' },
      }),
    ],
  };
}

let dir: string;
before(async () => {
  dir = await tempDir('fa-manifest-');
});
after(() => fs.rm(dir, { recursive: true, force: true }));

async function write(name: string, manifest: object): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d, { recursive: true });
  await fs.writeFile(path.join(d, MANIFEST_FILE), JSON.stringify(manifest));
  return d;
}

test('a manifest written the old way loads: no filterObjective, no zip, no quality, null objectives', async () => {
  const m = await readManifest(await write('old', oldManifest()));
  assert.equal(m.units.length, 3);
  const [ok, failed, cls] = m.units;
  assert.equal(ok!.settings.filterObjective, undefined);
  assert.equal(ok!.files!.zip, undefined);
  assert.equal(filterQualityOf(ok!), undefined);
  assert.equal(classQualityOf(cls!), undefined);
  assert.ok(Number.isNaN(failed!.finalObjective) && Number.isNaN(failed!.curve[1]), 'null reads back as NaN');
  assert.equal(m.model.labels, undefined);
});

test('a current manifest keeps lucid settings and quality numbers, typed by kind', async () => {
  const m = oldManifest();
  const lucid = {
    ...lectureSettings,
    method: 'lucid',
    crop: 0,
    deprocess: 'clip',
    filterObjective: 'share',
    lr: 0.05,
    decay: 1,
    sd: 0.01,
    transforms: { pad: 12, jitter: 8, scale: [0.9, 1.1], rotate: 10, jitter2: 4 },
    negative: false,
    preActivation: true,
  };
  const q = { rank: 0, ties: 0, top: 3, z: 2.5, channels: 8, preActivation: { rank: 1, ties: 0, top: 2, z: 1.5, channels: 8 } };
  m.units.push(unit({ key: 'lucid/filter/conv1/0', kind: 'filter', method: 'lucid', layer: 'conv1', index: 0, label: 'conv1 #0', settings: lucid, quality: q }));
  m.units[2] = { ...m.units[2]!, quality: { top5: [1, 2, 3, 4, 5], top1: 1, top1IsTarget: true, top5HasTarget: true, jitterTop1Rate: 0.5, jitterTop5Rate: 1, copies: 16 } };
  Object.assign(m.model, { labels: ['tench', 'goldfish'], layers: [{ name: 'conv1', className: 'Conv2D', outputShape: [null, 32, 8], inputs: ['input_1'] }] });
  const read = await readManifest(await write('new', m));
  const s = read.units[3]!.settings;
  assert.equal(s.method, 'lucid');
  if (s.method === 'lucid') assert.deepEqual([s.lr, s.transforms.scale, s.preActivation], [0.05, [0.9, 1.1], true]);
  assert.equal(filterQualityOf(read.units[3]!)?.preActivation?.rank, 1);
  assert.equal(classQualityOf(read.units[2]!)?.jitterTop1Rate, 0.5);
  assert.deepEqual(read.model.labels, ['tench', 'goldfish']);
  assert.deepEqual(read.model.layers![0]!.outputShape, [null, 32, 8]);
});

test('a manifest that fails the schema names the file and the JSON path', async () => {
  const bad = oldManifest();
  (bad.units[2]!.settings as { steps: unknown }).steps = 'many';
  let d = await write('bad-steps', bad);
  await assert.rejects(readManifest(d), (e: Error) => e.message.includes(path.join(d, MANIFEST_FILE)) && /units\[2\]\.settings\.steps: .*number/.test(e.message));
  const wrongQuality = oldManifest();
  Object.assign(wrongQuality.units[0]!, { quality: { top5: [1], top1: 1, top1IsTarget: true, top5HasTarget: true, jitterTop1Rate: 1, jitterTop5Rate: 1, copies: 1 } });
  d = await write('bad-quality', wrongQuality);
  await assert.rejects(readManifest(d), (e: Error) => /units\[0\]\.quality\.rank/.test(e.message));
  const lucidWithout = oldManifest();
  Object.assign(lucidWithout.units[0]!, { method: 'lucid', settings: { ...lectureSettings, method: 'lucid' } });
  d = await write('bad-lucid', lucidWithout);
  await assert.rejects(readManifest(d), (e: Error) => /units\[0\]\.settings\.lr/.test(e.message));
  d = await write('v2', { ...oldManifest(), schemaVersion: 2 });
  await assert.rejects(readManifest(d), /schemaVersion 2, this build reads 1/);
  assert.equal(await readManifestIfAny(path.join(dir, 'none')), undefined);
});

test('the site builds from a manifest written the old way (through the content loader)', async () => {
  const data = await write('site-data', oldManifest());
  const config = path.join(dir, 'old.yaml');
  await fs.writeFile(config, `model: { id: m, source: x }\noutput: ${JSON.stringify(data)}\nsite: { url: https://example.org }\n`);
  const dist = path.join(dir, 'dist');
  await buildSite(config, dist);
  const page = await fs.readFile(path.join(dist, 'layers/conv1/0/index.html'), 'utf8');
  assert.match(page, /conv1 · filter 0/);
  assert.doesNotMatch(page, /target channel/, 'no quality rows without quality numbers');
  const failed = await fs.readFile(path.join(dist, 'layers/conv1/1/index.html'), 'utf8');
  assert.match(failed, /Failed: NaN loss/);
  const layer = await fs.readFile(path.join(dist, 'layers/conv1/index.html'), 'utf8');
  assert.match(layer, /#1 <b class="tag bad">failed<\/b>/);
  assert.match(await fs.readFile(path.join(dist, 'classes/1/index.html'), 'utf8'), /Class 1: goldfish/);
});

test('fields the pipeline fills next show when present: the slide PNG, class names from model.labels', async () => {
  const m = oldManifest();
  const units = m.units as { files?: Record<string, string>; quality?: object; kind: string }[];
  units[0]!.files = { ...units[0]!.files!, slide: 'm/lecture/layers/conv1/0-slide.png' };
  units[2]!.quality = { top5: [1, 0, 2, 3, 4], top1: 1, top1IsTarget: true, top5HasTarget: true, jitterTop1Rate: 1, jitterTop5Rate: 1, copies: 16 };
  Object.assign(m.model, { labels: ['tench', 'goldfish', 'great white shark', 'tiger shark', 'hammerhead'] });
  const data = await write('site-new', m);
  const config = path.join(dir, 'new.yaml');
  await fs.writeFile(config, `model: { id: m, source: x }\noutput: ${JSON.stringify(data)}\nsite: { url: https://example.org }\n`);
  const dist = path.join(dir, 'dist-new');
  await buildSite(config, dist);
  const filter = await fs.readFile(path.join(dist, 'layers/conv1/0/index.html'), 'utf8');
  assert.match(filter, /href="\/data\/m\/lecture\/layers\/conv1\/0-slide.png" download="m-conv1-0-lecture-slide.png">PNG for slides/);
  const cls = await fs.readFile(path.join(dist, 'classes/1/index.html'), 'utf8');
  assert.match(cls, /1 goldfish; 0 tench; 2 great white shark; 3 tiger shark; 4 hammerhead/);
});
