/**
 * Dataset examples through the real CLI: the cache (300 photos, one added → one computed; one
 * removed → gone from examples and cache), bad folders (exit 2), unreadable files (skipped and
 * listed), `publish: false`, and the default config's photos and their attributions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { readAttributions } from '../pipeline/dataset/attribution.ts';
import { PHOTO_EXTENSIONS } from '../pipeline/dataset/photos.ts';
import { readManifest, type Manifest } from '../pipeline/output/manifest.ts';
import { M025, MODELS, PHOTOS, ROOT, runCli, tempDir, writeConfig } from './support/fixtures.ts';

const SET = path.join(PHOTOS, 'set', 'images');

/** A small, fast atlas of M025 with a dataset block. */
function config(out: string, dataset: string): string {
  return [
    'model:',
    `  id: ${M025}`,
    `  source: ${path.join(MODELS, M025)}`,
    `  labels: ${path.join(ROOT, 'labels', 'imagenet.json')}`,
    'layers:',
    '  conv_pw_3_relu: 0-1',
    'classes: [espresso]',
    'render:',
    '  size: 64',
    '  batch: 2',
    '  backend: wasm',
    '  lecture: { filters: { steps: 1 }, classes: { steps: 1 } }',
    `output: ${out}`,
    'dataset:',
    ...dataset.split('\n').map((l) => `  ${l}`),
    '',
  ].join('\n');
}

async function run(file: string) {
  const r = await runCli(['pipeline', '--config', file]);
  return { ...r, manifest: r.code === 0 ? await readManifest(path.join(path.dirname(file), 'out')) : undefined };
}

const sources = (m: Manifest) => new Set(m.units.flatMap((u) => (u.examples ?? []).map((e) => e.source)));

async function countFiles(dir: string, ext: string): Promise<number> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith(ext)).length;
}

test('300 photos: a rerun with one photo added computes one photo; a removed photo drops out', async () => {
  const dir = await tempDir('atlas-ds-cache-');
  const photos = path.join(dir, 'photos');
  await fs.mkdir(photos);
  const shared = (await fs.readdir(SET)).filter((f) => f.endsWith('.jpg')).sort();
  await Promise.all(shared.map((f) => fs.copyFile(path.join(SET, f), path.join(photos, f))));
  // Mirrored copies are new photos (other bytes), up to 300.
  await Promise.all(
    shared.slice(0, 300 - shared.length).map((f) =>
      sharp(path.join(SET, f))
        .flop()
        .jpeg()
        .toFile(path.join(photos, `mirrored-${f}`)),
    ),
  );
  const file = await writeConfig(dir, config(path.join(dir, 'out'), 'folder: photos'));

  const first = await run(file);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual([first.manifest!.dataset!.photos, first.manifest!.dataset!.computed, first.manifest!.dataset!.cached], [300, 300, 0]);

  await sharp(path.join(SET, shared[0]!)).flip().jpeg().toFile(path.join(photos, 'added.jpg'));
  const second = await run(file);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual([second.manifest!.dataset!.photos, second.manifest!.dataset!.computed, second.manifest!.dataset!.cached], [301, 1, 300]);
  assert.match(second.stderr, /dataset: 301 photos ranked \(1 computed, 300 from the cache/);

  // Remove a photo that is some unit's example: it leaves the examples and the cache.
  const gone = second.manifest!.units.find((u) => u.kind === 'class')!.examples![0]!.source;
  await fs.rm(path.join(photos, gone));
  const third = await run(file);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual([third.manifest!.dataset!.photos, third.manifest!.dataset!.computed], [300, 0]);
  assert.ok(!sources(third.manifest!).has(gone), `${gone} is no longer an example`);
  // One file per photo for the layer and one for the class scores.
  assert.equal(await countFiles(path.join(dir, 'out', '.dataset-cache'), '.f32'), 300 * 2);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('bad dataset folders exit 2 naming the key, the line and the path; nothing is written', () => {
  for (const [name, make] of [
    ['missing', async (_dir: string) => {}],
    ['empty', async (dir: string) => fs.mkdir(path.join(dir, 'photos'))],
    [
      'without photos',
      async (dir: string) => {
        await fs.mkdir(path.join(dir, 'photos'));
        await fs.writeFile(path.join(dir, 'photos', 'SOURCES.md'), '# nothing\n');
      },
    ],
  ] as const) {
    test(name, async () => {
      const dir = await tempDir('atlas-ds-bad-');
      await make(dir);
      const file = await writeConfig(dir, config(path.join(dir, 'out'), 'folder: photos'));
      const r = await runCli(['pipeline', '--config', file]);
      assert.equal(r.code, 2, r.stderr);
      const line = config('', 'folder: photos').split('\n').indexOf('  folder: photos') + 1;
      assert.ok(r.stderr.includes(`${file}:${line} dataset.folder: ${path.join(dir, 'photos')}`), r.stderr);
      assert.match(r.stderr, name === 'missing' ? /does not exist/ : /holds no photos/);
      assert.equal(await fs.stat(path.join(dir, 'out')).catch(() => undefined), undefined, 'no output folder');
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
});

test('a corrupt JPEG and a text file named .png are skipped and listed; grayscale and RGBA photos are used; publish: false removes photos', async () => {
  const dir = await tempDir('atlas-ds-skip-');
  const photos = path.join(dir, 'photos');
  await fs.mkdir(path.join(photos, 'sub'), { recursive: true });
  const jpeg = await fs.readFile(path.join(SET, 'coffee-1.jpg'));
  await fs.writeFile(path.join(photos, 'coffee.jpg'), jpeg);
  await fs.writeFile(path.join(photos, 'broken.jpg'), jpeg.subarray(0, 600));
  await fs.writeFile(path.join(photos, 'sub', 'notes.png'), 'this is text, not a PNG\n');
  await sharp(path.join(SET, 'cat-1.jpg'))
    .grayscale()
    .png()
    .toFile(path.join(photos, 'sub', 'gray.png'));
  await sharp(path.join(SET, 'dog-1.jpg')).ensureAlpha(0.5).webp().toFile(path.join(photos, 'rgba.webp'));
  await fs.writeFile(path.join(photos, 'SOURCES.md'), '| file | licence | author |\n|---|---|---|\n| coffee.jpg | CC0 | Rachel Michetti |\n');
  const file = await writeConfig(dir, config(path.join(dir, 'out'), 'folder: photos'));
  const r = await run(file);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.manifest!.dataset!.skipped.map((s) => s.file),
    ['broken.jpg', 'sub/notes.png'],
  );
  assert.match(r.stderr, /dataset: skipped broken\.jpg: /);
  assert.match(r.stderr, /dataset: skipped sub\/notes\.png: /);
  assert.match(r.stderr, /3 photos ranked .*2 skipped \(broken\.jpg, sub\/notes\.png\)/);
  const espresso = r.manifest!.units.find((u) => u.kind === 'class')!;
  assert.deepEqual(new Set(espresso.examples!.map((e) => e.source)), new Set(['coffee.jpg', 'rgba.webp', 'sub/gray.png']));
  const coffee = espresso.examples!.find((e) => e.source === 'coffee.jpg')!;
  assert.deepEqual([coffee.attribution, coffee.license], ['Rachel Michetti', 'CC0']);
  const published = path.join(dir, 'out', M025, 'dataset');
  for (const u of r.manifest!.units) for (const e of u.examples ?? []) for (const f of [e.file, e.patch?.file]) if (f) await fs.access(path.join(dir, 'out', f));
  assert.ok((await countFiles(published, '.webp')) > 3);

  await writeConfig(dir, config(path.join(dir, 'out'), 'folder: photos\npublish: false'));
  const hidden = await run(file);
  assert.equal(hidden.code, 0, hidden.stderr);
  assert.equal(hidden.manifest!.dataset!.published, false);
  assert.ok(hidden.manifest!.units.every((u) => u.examples === undefined && u.datasetQuality !== undefined));
  assert.equal(await countFiles(published, '.webp'), 0, 'no photo or patch left in the output');
  await fs.rm(dir, { recursive: true, force: true });
});

test("the default config's photos all carry a licence and an attribution from photos/SOURCES.md", async () => {
  const folder = path.join(ROOT, 'photos');
  const files = (await fs.readdir(folder)).filter((f) => PHOTO_EXTENSIONS.includes(path.extname(f).toLowerCase()));
  assert.ok(files.length >= 24, `${files.length} photos`);
  const found = await readAttributions(folder, files, true);
  for (const f of files) {
    const a = found.get(f);
    assert.ok(a?.license && a.text, `${f}: licence and attribution`);
  }
  const rows = (await fs.readFile(path.join(folder, 'SOURCES.md'), 'utf8')).split('\n').filter((l) => /^\| [\w.-]+\.jpg \|/.test(l));
  assert.equal(rows.length, files.length, 'SOURCES.md lists exactly the committed photos');
  const config = await fs.readFile(path.join(ROOT, 'atlas.config.yaml'), 'utf8');
  assert.match(config, /^dataset:\n {2}folder: photos$/m);
});
