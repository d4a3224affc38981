/**
 * The media budget on a real subset of the whole MobileNet v1 0.75 atlas (`npm run bench:media`):
 * plans the whole atlas (4,464 pointwise filters + 1,000 classes, lecture) at `site.budget` (default
 * 1GB), renders a subset of it with that tier — 216 lecture units across early, mid and deep layers
 * plus classes, and 16 lucid units — at the default 224 px with few steps, builds its site, and
 * prints the published bytes per unit by file kind and the projection for the whole atlas.
 *
 *   npm run bench:media [-- --budget 1GB] [-- --out bench-out/media]
 *
 * Needs MobileNet v1 0.75 (ATLAS_MODELS, or a download). Takes a few minutes on 2 cores.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { readManifest, type ManifestUnit } from '../pipeline/output/manifest.ts';
import { estimateUnit, formatBytes, parseBytes, planMedia, SITE_BYTES, type UnitShape } from '../pipeline/output/media-plan.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const MODEL = 'mobilenet_v1_0.75_224';

/** The whole atlas: MobileNet v1 0.75's 13 pointwise layers (4,464 filters) and 1,000 classes, lecture defaults at 224 px. */
const POINTWISE = [48, 96, 96, 192, 192, 384, 384, 384, 384, 384, 384, 768, 768];
const WHOLE: UnitShape[] = [
  ...POINTWISE.flatMap((n) => Array.from({ length: n }, (): UnitShape => ({ kind: 'filter', deprocess: 'lecture', width: 174, height: 174, frames: 31 }))),
  ...Array.from({ length: 1000 }, (): UnitShape => ({ kind: 'class', deprocess: 'clip', width: 224, height: 224, frames: 41 })),
];
const FILTERS = POINTWISE.reduce((a, b) => a + b, 0);

/** The subset: early, mid and deep layers, classes across the label list. */
const LECTURE_LAYERS: Record<string, string> = {
  conv_pw_1_relu: '0-23',
  conv_pw_3_relu: '0-23',
  conv_pw_5_relu: '0-23',
  conv_pw_7_relu: '0-23',
  conv_pw_9_relu: '0-23',
  conv_pw_11_relu: '0-23',
  conv_pw_13_relu: '0-31',
};
const CLASSES = Array.from({ length: 40 }, (_, i) => i * 25 + 1);

function config(o: { out: string; methods: string; layers: Record<string, string>; classes: number[]; media: string; extra: string[] }): string {
  return [
    'model:',
    `  id: ${MODEL}`,
    `  source: https://storage.googleapis.com/tfjs-models/tfjs/${MODEL}/model.json`,
    `  labels: ${JSON.stringify(path.join(ROOT, 'labels', 'imagenet.json'))}`,
    'layers:',
    ...Object.entries(o.layers).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    `classes: ${JSON.stringify(o.classes)}`,
    'render:',
    `  methods: [${o.methods}]`,
    '  workers: auto',
    ...o.extra,
    `output: ${JSON.stringify(path.join(o.out, 'data'))}`,
    'site:',
    '  title: Media bench',
    '  url: https://example.org',
    '  base: /atlas/',
    `  media: ${o.media}`,
    '',
  ].join('\n');
}

async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => undefined))?.size ?? 0;
}

async function pagesBytes(dist: string): Promise<{ unitPages: number; unitPageCount: number; other: number }> {
  let unitPages = 0;
  let unitPageCount = 0;
  let other = 0;
  for (const entry of await fs.readdir(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = path.relative(dist, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (rel.startsWith('data/')) continue;
    const size = await sizeOf(path.join(dist, rel));
    if (/^(layers\/[^/]+\/\d+|classes\/\d+)\/index\.html$/.test(rel)) {
      unitPages += size;
      unitPageCount++;
    } else other += size;
  }
  return { unitPages, unitPageCount, other };
}

interface KindRow {
  units: number;
  image: number;
  thumb: number;
  gif: number;
  zip: number;
  gifFrames: number[];
  gifSide: number[];
}

async function byKind(dataDir: string, units: ManifestUnit[]): Promise<KindRow> {
  const row: KindRow = { units: 0, image: 0, thumb: 0, gif: 0, zip: 0, gifFrames: [], gifSide: [] };
  for (const u of units) {
    if (!u.files) continue;
    row.units++;
    row.image += await sizeOf(path.join(dataDir, u.files.png));
    row.thumb += await sizeOf(path.join(dataDir, u.files.webp));
    row.gif += await sizeOf(path.join(dataDir, u.files.gif));
    if (u.files.zip) row.zip += await sizeOf(path.join(dataDir, u.files.zip));
    row.gifFrames.push(u.media?.gif.frames.length ?? u.frames);
    row.gifSide.push(Math.min(u.media?.gif.width ?? u.width, u.media?.gif.height ?? u.height));
  }
  return row;
}

const kB = (b: number) => (b / 1000).toFixed(1);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { budget: { type: 'string', default: '1GB' }, out: { type: 'string', default: path.join(ROOT, 'bench-out', 'media') }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:media [-- --budget 1GB] [--out bench-out/media]\n\nRenders a real 232-unit subset of the whole MobileNet v1 0.75 atlas at the tier the budget gives it and prints\nthe published bytes per unit and the projection for the whole atlas.\n\nMore: docs/media-budget.md, bench/README.md.\n',
    );
    return;
  }
  const budget = parseBytes(values.budget);
  if (!budget) throw new Error(`--budget: "${values.budget}" is not a size like 1GB`);
  const plan = planMedia(WHOLE, budget);
  console.log(`whole atlas: ${WHOLE.length} units (${FILTERS} filters + 1000 classes), budget ${formatBytes(budget)} → tier "${plan.tier.name}" (estimated ${formatBytes(plan.estimate)})`);
  const out = path.resolve(values.out);
  await fs.rm(out, { recursive: true, force: true });
  await fs.mkdir(out, { recursive: true });
  const env = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' };
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const pipeline = async (name: string, yaml: string) => {
    const file = path.join(out, `${name}.yaml`);
    await fs.writeFile(file, yaml);
    const t = Date.now();
    await run(tsx, [path.join(ROOT, 'pipeline/cli.ts'), 'pipeline', '--config', file, '--quiet'], { cwd: ROOT, env, maxBuffer: 1 << 26 });
    console.log(`${name}: rendered in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    return file;
  };
  // Lecture: the projection's units (filters 16 steps, classes 20: ≥ 12 frames each, fewer steps than the defaults to keep it short).
  const lectureDir = path.join(out, 'lecture');
  const lecture = await pipeline(
    'lecture',
    config({ out: lectureDir, methods: 'lecture', layers: LECTURE_LAYERS, classes: CLASSES, media: plan.tier.name, extra: ['  lecture:', '    filters: { steps: 16 }', '    classes: { steps: 20 }'] }),
  );
  // Lucid: a few units with few steps (its default is 512).
  const lucidDir = path.join(out, 'lucid');
  await pipeline(
    'lucid',
    config({
      out: lucidDir,
      methods: 'lucid',
      layers: { conv_pw_3_relu: '0-3', conv_pw_11_relu: '0-3' },
      classes: CLASSES.slice(0, 8),
      media: plan.tier.name,
      extra: ['  lucid: { steps: 48, frameEvery: 4 }'],
    }),
  );
  const dist = path.join(out, 'dist');
  await run(path.join(ROOT, 'node_modules', '.bin', 'astro'), ['build', '--outDir', dist], { cwd: ROOT, env: { ...env, ATLAS_CONFIG: lecture }, maxBuffer: 1 << 26 });
  const pages = await pagesBytes(dist);

  const rows: [string, KindRow][] = [];
  for (const [method, dir] of [
    ['lecture', lectureDir],
    ['lucid', lucidDir],
  ] as const) {
    const data = path.join(dir, 'data');
    const m = await readManifest(data);
    const layerOf = (u: ManifestUnit) => Number(/conv_pw_(\d+)_relu/.exec(u.layer)?.[1] ?? 0);
    const groups: [string, ManifestUnit[]][] = [
      [`${method} filters, early (pw 1–3)`, m.units.filter((u) => u.kind === 'filter' && layerOf(u) <= 3)],
      [`${method} filters, mid (pw 5–9)`, m.units.filter((u) => u.kind === 'filter' && layerOf(u) > 3 && layerOf(u) <= 9)],
      [`${method} filters, deep (pw 11–13)`, m.units.filter((u) => u.kind === 'filter' && layerOf(u) > 9)],
      [`${method} filters, all`, m.units.filter((u) => u.kind === 'filter')],
      [`${method} classes`, m.units.filter((u) => u.kind === 'class')],
    ];
    for (const [name, units] of groups) if (units.length) rows.push([name, await byKind(data, units)]);
  }
  const sheetsOf = async (dir: string) => {
    const m = await readManifest(path.join(dir, 'data'));
    const files = m.layers.flatMap((l) => Object.values(l.sheets).flat());
    let bytes = 0;
    let tiles = 0;
    for (const s of files) {
      bytes += await sizeOf(path.join(dir, 'data', s.file));
      tiles += s.filters.length;
    }
    return { bytes, tiles };
  };
  const sheets = await sheetsOf(lectureDir);
  const total = rows.reduce((s, [name, r]) => (name.endsWith(', all') || name.includes('classes') ? s + r.units : s), 0);
  console.log(`\nsubset: ${total} units (lecture and lucid), tier "${plan.tier.name}"; bytes per unit (kB = 1000 bytes)\n`);
  console.log('| units | n | image | thumbnail | GIF (frames, px) | frames ZIP | files per unit |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of rows) {
    const per = (b: number) => kB(b / r.units);
    const frames = `${Math.min(...r.gifFrames)}–${Math.max(...r.gifFrames)} frames, ≥ ${Math.min(...r.gifSide)} px`;
    console.log(`| ${name} | ${r.units} | ${per(r.image)} | ${per(r.thumb)} | ${per(r.gif)} (${frames}) | ${per(r.zip)} | ${per(r.image + r.thumb + r.gif + r.zip)} |`);
  }
  const f = rows.find(([n]) => n === 'lecture filters, all')![1];
  const c = rows.find(([n]) => n === 'lecture classes')![1];
  const filesPer = (r: KindRow) => (r.image + r.thumb + r.gif + r.zip) / r.units;
  const sheetPerFilter = sheets.bytes / Math.max(1, sheets.tiles);
  const pagePerUnit = pages.unitPages / Math.max(1, pages.unitPageCount);
  const projected = FILTERS * (filesPer(f) + sheetPerFilter + pagePerUnit) + 1000 * (filesPer(c) + pagePerUnit) + SITE_BYTES;
  const estimated = { filter: estimateUnit(plan.tier, WHOLE[0]!).total, class: estimateUnit(plan.tier, WHOLE[WHOLE.length - 1]!).total };
  console.log(`\ncontact sheets: ${kB(sheetPerFilter)} kB per filter; unit pages: ${kB(pagePerUnit)} kB each (${pages.unitPageCount} built); other pages and assets: ${kB(pages.other)} kB`);
  console.log(
    `per unit with its page (and sheet share): filter ${kB(filesPer(f) + sheetPerFilter + pagePerUnit)} kB (planner's estimate ${kB(estimated.filter)}), class ${kB(filesPer(c) + pagePerUnit)} kB (estimate ${kB(estimated.class)}); ` +
      `average ${kB((projected - SITE_BYTES) / WHOLE.length)} kB`,
  );
  console.log(
    `projection, whole MobileNet v1 0.75 atlas (${FILTERS} filters + 1000 classes, lecture): ${formatBytes(projected)} published (${(projected / 1e9).toFixed(3)} × 10⁹ bytes); budget ${formatBytes(budget)}: ${projected <= budget ? 'fits' : 'DOES NOT FIT'}`,
  );
}

await main();
