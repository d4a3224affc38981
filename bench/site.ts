/**
 * Site benchmark: a synthetic atlas of 5 000 units (one layer of 2 048 filters, three more layers,
 * classes) with tiny placeholder images, built with `astro build` under a non-root base. Reports the
 * build time, HTML weights, and the image bytes Chromium loads on the 2 048-filter layer page at
 * 1280×800 before any scrolling.
 *
 *   npx tsx bench/site.ts [--thumbs <folder of real .webp thumbnails>] [--keep]
 *
 * With --thumbs, the grid's thumbnails are real ones (copied in turn) so the image weight is
 * realistic; otherwise they are generated placeholders.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeFramesZip } from '../pipeline/output/frames-zip.ts';
import { SCHEMA_VERSION, type Manifest, type ManifestLayer, type ManifestUnit } from '../pipeline/output/manifest.ts';
import { pages, sheetFile, slug, unitFiles, unitKey } from '../pipeline/output/paths.ts';
import { launchChromium } from '../test/support/browser.ts';
import { serveStatic } from '../test/support/serve.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const args = process.argv.slice(2);
const thumbsDir = args.includes('--thumbs') ? path.resolve(args[args.indexOf('--thumbs') + 1]!) : undefined;
const keep = args.includes('--keep');

const MODEL = 'resnet50_synthetic_224';
const METHOD = 'lecture';
const BIG = 'conv5_block3_out';
const LAYERS: [string, number][] = [
  [BIG, 2048],
  ['conv4_block6_out', 1024],
  ['conv3_block4_out', 512],
  ['conv2_block3_out', 256],
];
const UNITS = 5000;
const BASE = '/atlas-bench/';
const SIZE = 16;
const FRAMES = 4;

async function placeholders(count: number): Promise<{ png: Buffer; webp: Buffer; gif: Buffer; zip: Buffer }[]> {
  const out = [];
  for (let k = 0; k < count; k++) {
    const frames = Array.from({ length: FRAMES }, (_, f) => {
      const rgb = new Uint8Array(SIZE * SIZE * 3);
      for (let i = 0; i < rgb.length; i++) rgb[i] = ((i * (k + 3)) ^ (f * 40)) & 255;
      return rgb;
    });
    const raw = { raw: { width: SIZE, height: SIZE, channels: 3 as const } };
    const last = frames.at(-1)!;
    const strip = Buffer.concat(frames.map((f) => Buffer.from(f)));
    out.push({
      png: await sharp(last, raw).png().toBuffer(),
      webp: await sharp(last, raw).resize(128, 128, { kernel: 'nearest' }).webp({ quality: 82 }).toBuffer(),
      gif: await sharp(strip, { raw: { width: SIZE, height: SIZE * FRAMES, channels: 3, pageHeight: SIZE } })
        .gif({ loop: 0, delay: Array(FRAMES).fill(80) })
        .toBuffer(),
      zip: await encodeFramesZip(frames, SIZE, SIZE),
    });
  }
  return out;
}

async function realThumbs(dir: string): Promise<Buffer[]> {
  const files = (await fs.readdir(dir, { recursive: true })).filter((f) => f.endsWith('.webp')).sort();
  if (files.length === 0) throw new Error(`no .webp files under ${dir}`);
  return Promise.all(files.map((f) => fs.readFile(path.join(dir, f))));
}

function unitOf(kind: 'filter' | 'class', layer: string, index: number, label: string, files: ManifestUnit['files']): ManifestUnit {
  return {
    key: unitKey({ kind, method: METHOD, layer, index }),
    kind,
    method: METHOD,
    layer,
    index,
    label,
    status: 'ok',
    flags: [],
    files,
    width: SIZE,
    height: SIZE,
    frames: FRAMES,
    curve: [0, 0.5, 0.8, 1],
    startObjective: 0,
    finalObjective: 1,
    seed: index,
    settings: { steps: FRAMES - 1, stepSize: 10, l2: 0, size: [SIZE, SIZE], border: 2, crop: 0, deprocess: 'lecture', frameEvery: 1, photo: null },
    backend: 'synthetic',
    seconds: 0,
    cacheKey: `bench-${kind}-${layer}-${index}`,
  };
}

async function writeAtlas(dataDir: string): Promise<Manifest> {
  const ph = await placeholders(16);
  const real = thumbsDir ? await realThumbs(thumbsDir) : undefined;
  const units: ManifestUnit[] = [];
  const layers: ManifestLayer[] = [];
  const dirs = new Set<string>();
  const write = async (rel: string, data: Buffer) => {
    const file = path.join(dataDir, rel);
    const d = path.dirname(file);
    if (!dirs.has(d)) {
      await fs.mkdir(d, { recursive: true });
      dirs.add(d);
    }
    await fs.writeFile(file, data);
  };
  let n = 0;
  for (const [name, count] of LAYERS) {
    const filters = Array.from({ length: count }, (_, i) => i);
    const sheets = [];
    for (let s = 0; s * 64 < count; s++) {
      const file = sheetFile(MODEL, METHOD, name, s);
      await write(file, ph[s % ph.length]!.png);
      sheets.push({ file, filters: filters.slice(s * 64, s * 64 + 64) });
    }
    layers.push({ name, slug: slug(name), className: 'Add', outputShape: [7, 7, count], filterCount: count, filters, sheets: { [METHOD]: sheets } });
    for (const f of filters) {
      const files = { ...unitFiles(MODEL, { kind: 'filter', method: METHOD, layer: name, index: f }), zip: '' };
      files.zip = files.png.replace(/\.png$/, '.zip');
      const p = ph[n % ph.length]!;
      await Promise.all([write(files.png, p.png), write(files.webp, real ? real[n % real.length]! : p.webp), write(files.gif, p.gif), write(files.zip, p.zip)]);
      units.push(unitOf('filter', name, f, `${name} #${f}`, files));
      n++;
    }
  }
  const classes = [];
  for (let id = 0; n < UNITS; id++, n++) {
    const label = `synthetic class ${id}, “label” with <odd> & characters`;
    classes.push({ id, label });
    const files = { ...unitFiles(MODEL, { kind: 'class', method: METHOD, index: id }), zip: '' };
    files.zip = files.png.replace(/\.png$/, '.zip');
    const p = ph[n % ph.length]!;
    await Promise.all([write(files.png, p.png), write(files.webp, real ? real[n % real.length]! : p.webp), write(files.gif, p.gif), write(files.zip, p.zip)]);
    units.push(unitOf('class', 'predictions', id, label, files));
  }
  const manifest: Manifest = {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    generator: 'bench/site.ts',
    site: { title: 'Synthetic atlas (benchmark)', url: 'https://example.org', base: BASE },
    model: {
      id: MODEL,
      source: 'synthetic',
      inputShape: [224, 224, 3],
      pixels: { range: [-1, 1] },
      classCount: classes.length,
      score: 'logit',
      scoreLayer: 'predictions',
      layerNames: LAYERS.map(([l]) => l),
      weightsHash: 'synthetic',
    },
    backend: { name: 'synthetic', skipped: [] },
    methods: [{ id: METHOD, name: 'Lecture', description: 'Synthetic placeholder images.' }],
    layers,
    classes,
    units,
  };
  await fs.writeFile(path.join(dataDir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

const kB = (b: number) => `${(b / 1024).toFixed(1)} kB`;

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-site-'));
  const dataDir = path.join(dir, 'data');
  const dist = path.join(dir, 'dist');
  const t0 = performance.now();
  const manifest = await writeAtlas(dataDir);
  const tData = performance.now() - t0;
  const config = path.join(dir, 'atlas.yaml');
  // The model section is validated but not loaded by the site build.
  await fs.writeFile(config, [`model: {id: ${MODEL}, source: ./none}`, `output: ${dataDir}`, `site: {title: Synthetic atlas, url: "https://example.org", base: "${BASE}"}`, ''].join('\n'));

  const t1 = performance.now();
  await run(path.join(ROOT, 'node_modules', '.bin', 'astro'), ['build', '--outDir', dist], { cwd: ROOT, env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', ATLAS_CONFIG: config }, maxBuffer: 1 << 28 });
  const tBuild = performance.now() - t1;

  const htmlFiles = (await fs.readdir(dist, { recursive: true })).filter((f) => f.endsWith('.html') && !f.startsWith('data'));
  const sizeOf = async (rel: string) => {
    const html = await fs.readFile(path.join(dist, rel, 'index.html'));
    return { raw: html.byteLength, gzip: gzipSync(html).byteLength };
  };
  const bigPage = pages.layer(BIG);
  const weights = {
    [`layer page (${LAYERS[0]![1]} filters)`]: await sizeOf(bigPage),
    'unit page': await sizeOf(pages.filter(BIG, 1000)),
    'home page': await sizeOf(pages.home()),
    [`classes page (${manifest.classes.length} classes)`]: await sizeOf(pages.classes()),
  };
  const searchIndex = (await fs.stat(path.join(dist, 'search.json'))).size;

  // Image bytes Chromium loads on the big layer page before scrolling.
  const server = await serveStatic(dist, BASE);
  const browser = await launchChromium();
  let images = { count: 0, bytes: 0, eagerInMarkup: 0, tiles: 0 };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const loaded: Promise<number>[] = [];
    page.on('response', (r) => {
      if (r.request().resourceType() === 'image')
        loaded.push(
          r.body().then(
            (b) => b.byteLength,
            () => 0,
          ),
        );
    });
    await page.goto(`${server.url}${bigPage}`, { waitUntil: 'load' });
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    const sizes = await Promise.all(loaded);
    const marks = await page.evaluate(() => ({ eager: document.querySelectorAll('.grid img:not([loading="lazy"])').length, tiles: document.querySelectorAll('.grid li').length }));
    images = { count: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), eagerInMarkup: marks.eager, tiles: marks.tiles };
  } finally {
    await browser.close();
    await server.close();
  }

  const layerHtml = weights[`layer page (${LAYERS[0]![1]} filters)`]!;
  console.log(
    `Filter Atlas site benchmark: ${manifest.units.length} units (${LAYERS.map(([l, c]) => `${l} ${c}`).join(', ')}, ${manifest.classes.length} classes), ${htmlFiles.length} HTML pages, base ${BASE}`,
  );
  console.log(`  thumbnails: ${thumbsDir ? `real, from ${thumbsDir}` : 'generated placeholders'}`);
  console.log(`  synthetic data written in ${(tData / 1000).toFixed(1)} s`);
  console.log(`  astro build (pages + data copy + sitemap): ${(tBuild / 1000).toFixed(1)} s, ${((tBuild / htmlFiles.length) * 1000).toFixed(0)} µs per page`);
  for (const [name, w] of Object.entries(weights)) console.log(`  ${name}: ${kB(w.raw)} HTML (${kB(w.gzip)} gzip)`);
  console.log(`  search index: ${kB(searchIndex)}`);
  console.log(`  layer page at 1280×800 before scrolling: ${images.count} images loaded, ${kB(images.bytes)} (${images.tiles} tiles, ${images.eagerInMarkup} eager in markup)`);
  const okHtml = layerHtml.raw < 300 * 1024;
  const okImg = images.bytes < 1024 * 1024;
  console.log(`  budget: layer HTML < 300 kB ${okHtml ? 'OK' : 'OVER'}; images before scrolling < 1 MB ${okImg ? 'OK' : 'OVER'}`);
  if (keep) console.log(`  kept: ${dir}`);
  else await fs.rm(dir, { recursive: true, force: true });
  if (!okHtml || !okImg) process.exitCode = 1;
}

await main();
