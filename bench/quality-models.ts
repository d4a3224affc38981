/**
 * The quality bench across models (issue 18): every classifier in the shared models folder (TF.js
 * folders and Keras files, loaded as an atlas loads them) plus a test model that takes [0, 1] pixels
 * and lists its classes in another order (bench/shuffled-model.ts), × up to 8 classes × both
 * methods × the class scores. Each (model, score) is an ordinary atlas run (`runPipeline`, default
 * settings but for the score, lucid's steps and the backend); then every class image is read back
 * from its published PNG, mapped to the model's input as the atlas does, and classified: top-1,
 * top-1 over 16 shifted and scaled copies (render/quality.ts), and top-1 / top-5 on another model
 * with the same class names (transfer). Prints one Markdown table (as in bench/history.md) and writes
 * <out>/results.json and <out>/table.md.
 *
 * Lucid runs 64 steps (not its 512) to keep the bench short; a rerun into the same folder reuses
 * every unit (atlas cache keys) and only measures again.
 *
 *   npm run bench:quality -- [--out bench-out/quality-models] [--lucid-steps 64] [--scores logit,logprob]
 *     [--lucid-scores logit,logprob] [--backend onnx-cpu] [--models DIR] [--only NAME,...]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../pipeline/config/load.ts';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { readManifest, type ManifestUnit } from '../pipeline/output/manifest.ts';
import { classQuality, type ClassQuality } from '../pipeline/render/quality.ts';
import { prepareAtlas, type AtlasContext } from '../pipeline/run/prepare.ts';
import { runPipeline } from '../pipeline/run.ts';
import { SHARED_MODELS, arg } from './lucid-common.ts';
import { writeShuffledModel } from './shuffled-model.ts';

if (process.argv.includes('--help')) {
  process.stdout.write(
    'usage: npm run bench:quality -- [--out bench-out/quality-models] [--lucid-steps 64] [--scores logit,logprob]\n         [--lucid-scores logit,logprob] [--backend onnx-cpu] [--models DIR] [--only NAME,...]\n\nRenders up to 8 classes of every classifier in the models folder with both methods and reads them back.\n\nMore: docs/quality.md, bench/README.md.\n',
  );
  process.exit(0);
}
const out = path.resolve(arg('out', 'bench-out/quality-models'));
const modelsDir = path.resolve(arg('models', SHARED_MODELS));
const lucidSteps = Number(arg('lucid-steps', '64'));
const scores = arg('scores', 'logit,logprob').split(',');
const lucidScores = arg('lucid-scores', 'logit,logprob').split(',');
const backend = arg('backend', 'onnx-cpu');
const only = arg('only', '').split(',').filter(Boolean);
const CLASSES_PER_MODEL = 8;
/** ImageNet classes used where a model knows them all (by name, so a model with another class order gets the same ones). */
const IMAGENET = [1, 9, 130, 207, 309, 417, 817, 954];

interface ModelEntry {
  /** Atlas model id. */
  id: string;
  source: string;
  /** Extra YAML for the model block (pixels). */
  extra: string;
}

/** Classifier models of the folder: TF.js folders (model.json) and Keras files, as an atlas would name them. */
async function findModels(dir: string): Promise<ModelEntry[]> {
  const found: ModelEntry[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'model.json' || /\.(keras|h5)$/.test(e.name)) found.push({ id: path.basename(path.dirname(p)), source: e.name === 'model.json' ? path.dirname(p) : p, extra: '' });
    }
  };
  await walk(dir);
  return found;
}

const yamlOf = (m: ModelEntry, score: string, classes: number[], output: string) =>
  [
    `model: { id: ${m.id}, source: ${JSON.stringify(m.source)}, score: ${score}${m.extra} }`,
    `classes: [${classes.join(', ')}]`,
    `render: { methods: [${lucidScores.includes(score) ? 'lecture, lucid' : 'lecture'}], backend: ${backend}, batch: 8, lucid: { steps: ${lucidSteps}, frameEvery: ${Math.max(1, Math.floor(lucidSteps / 8))} } }`,
    `output: ${JSON.stringify(output)}`,
    '',
  ].join('\n');

async function contextOf(m: ModelEntry, dir: string, classes: number[]): Promise<AtlasContext> {
  const file = path.join(dir, `probe.yaml`);
  await fs.writeFile(file, yamlOf(m, 'logit', classes, 'unused'));
  return prepareAtlas(await loadConfig(file), process.env);
}

/** The classes of a model: the ImageNet set by name where it has them all, else up to 8 ids spread over its classes. */
function pickClasses(labels: string[], imagenet: string[]): number[] {
  const byName = IMAGENET.map((id) => labels.indexOf(imagenet[id] ?? '\0'));
  if (byName.every((i) => i >= 0)) return byName;
  const n = labels.length;
  return Array.from({ length: Math.min(CLASSES_PER_MODEL, n) }, (_, i) => Math.floor((i * n) / Math.min(CLASSES_PER_MODEL, n)));
}

/** A published PNG read back as RGB bytes. */
async function readPng(file: string): Promise<{ bytes: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { bytes: new Uint8Array(data), width: info.width, height: info.height };
}

async function measure(ctx: AtlasContext, png: { bytes: Uint8Array; width: number; height: number }, target: number, seed: number): Promise<ClassQuality> {
  const [q] = await classQuality(ctx.graph, ctx.pixels, ctx.outputNode, [png.bytes], png.width, png.height, [target], [seed]);
  return q!;
}

interface Result {
  model: string;
  score: string;
  method: string;
  class: number;
  label: string;
  steps: number;
  stepsRun: number;
  top1: boolean;
  jitterTop1Rate: number;
  flags: string[];
  /** The unit failed to render (counted as not top-1). */
  failed?: string;
  transfer?: { model: string; top1: boolean; top5: boolean };
}

await selectBackend('wasm');
await fs.mkdir(out, { recursive: true });
const shuffled: ModelEntry = { id: 'mobilenet_v1_0.25_224_unit_shuffled', source: path.join(out, 'models', 'mobilenet_v1_0.25_224_unit_shuffled'), extra: ', pixels: { range: [0, 1] }' };
await writeShuffledModel(path.join(modelsDir, 'mobilenet_v1_0.25_224'), shuffled.source);
const models = [...(await findModels(modelsDir)), shuffled].filter((m) => !only.length || only.includes(m.id));
const imagenet: string[] = JSON.parse(await fs.readFile(path.join(modelsDir, 'mobilenet_v1_0.75_224', 'labels.json'), 'utf8'));
const sameLabels = (a: string[], b: string[]) => a.length === b.length && new Set(a).size === new Set([...a, ...b]).size;

/** Each model's atlas context (its graph, pixels and labels), kept for the transfer pass. */
const contexts = new Map<string, AtlasContext>();
const results: (Result & { png: string; seed: number })[] = [];
for (const m of models) {
  const dir = path.join(out, m.id);
  await fs.mkdir(dir, { recursive: true });
  const probe = await contextOf(m, dir, []);
  const classes = pickClasses(probe.labels, imagenet);
  probe.graph.dispose();
  for (const score of scores) {
    const file = path.join(dir, `${score}.yaml`);
    await fs.writeFile(file, yamlOf(m, score, classes, score));
    const t0 = performance.now();
    const run = await runPipeline({ configFile: file, quiet: true, env: process.env });
    console.error(`${m.id} ${score}: ${run.computed} computed, ${run.reused} reused, ${run.failed} failed on ${run.backend.name}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const ctx = contexts.get(m.id) ?? (await prepareAtlas(await loadConfig(file), process.env));
    contexts.set(m.id, ctx);
    const manifest = await readManifest(run.outDir);
    for (const u of manifest.units.filter((x: ManifestUnit) => x.kind === 'class')) {
      const base = { model: m.id, score, method: u.method, class: u.index, label: ctx.labels[u.index] ?? `class ${u.index}`, steps: u.settings.steps, seed: u.seed };
      if (u.status !== 'ok') {
        results.push({ ...base, png: '', stepsRun: 0, top1: false, jitterTop1Rate: 0, flags: [], failed: u.error ?? 'failed' });
        continue;
      }
      const png = path.join(run.outDir, u.files!.png);
      const q = await measure(ctx, await readPng(png), u.index, u.seed);
      results.push({ ...base, png, stepsRun: u.curve.length - 1, top1: q.top1IsTarget, jitterTop1Rate: q.jitterTop1Rate, flags: u.flags });
    }
  }
}

// Transfer: each image on another model with the same class names (MobileNet 0.75 for the ImageNet models, 0.25 for 0.75 itself).
const named = (c: AtlasContext) => c.labels.some((l) => !/^class \d+$/.test(l));
const PREFERRED = ['mobilenet_v1_0.75_224', 'mobilenet_v1_0.25_224'];
const rank = (id: string) => (PREFERRED.includes(id) ? PREFERRED.indexOf(id) : PREFERRED.length);
const order = [...contexts.keys()].sort((a, b) => rank(a) - rank(b));
for (const r of results) {
  const own = contexts.get(r.model)!;
  const to = order.find((id) => id !== r.model && named(own) && sameLabels(contexts.get(id)!.labels, own.labels));
  if (!to || !r.png) continue;
  const t = contexts.get(to)!;
  const tq = await measure(t, await readPng(r.png), t.labels.indexOf(r.label), r.seed);
  r.transfer = { model: to, top1: tq.top1IsTarget, top5: tq.top5HasTarget };
}
await fs.writeFile(path.join(out, 'results.json'), JSON.stringify(results, null, 1));

const pct = (xs: boolean[]) => `${xs.filter(Boolean).length}/${xs.length}`;
const mean = (xs: number[]) => `${Math.round((100 * xs.reduce((a, b) => a + b, 0)) / Math.max(1, xs.length))} %`;
const both = (f: (rs: Result[]) => string, rs: Result[]) => scores.map((score) => (rs.some((r) => r.score === score) ? f(rs.filter((r) => r.score === score)) : '–')).join(' · ');
const lines = [
  `| model | classes | method | top-1 on the PNG (${scores.join(' · ')}) | copies still top-1, mean | steps run, max (of) | transfer top-1 / top-5 | to |`,
  '|---|---|---|---|---|---|---|---|',
];
for (const m of models)
  for (const method of ['lecture', 'lucid']) {
    const rs = results.filter((r) => r.model === m.id && r.method === method);
    if (!rs.length) continue;
    const failed = rs.filter((r) => r.failed && r.score === rs[0]!.score).length;
    const to = rs.find((r) => r.transfer)?.transfer?.model;
    lines.push(
      [
        m.id,
        rs.filter((r) => r.score === rs[0]!.score).length,
        method,
        both((x) => pct(x.map((r) => r.top1)), rs) + (failed ? ` (${failed} failed)` : ''),
        both((x) => mean(x.map((r) => r.jitterTop1Rate)), rs),
        both((x) => `${Math.max(...x.map((r) => r.stepsRun))} (${x[0]!.steps})`, rs),
        to ? both((x) => `${pct(x.map((r) => r.transfer!.top1))} / ${pct(x.map((r) => r.transfer!.top5))}`, rs) : '–',
        to ?? '–',
      ]
        .join(' | ')
        .replace(/^/, '| ') + ' |',
    );
  }
const totals = ['lecture', 'lucid'].flatMap((method) =>
  scores.map((score) => {
    const rs = results.filter((r) => r.method === method && r.score === score);
    return rs.length ? `${method}, ${score}: top-1 ${pct(rs.map((r) => r.top1))}, copies top-1 ${mean(rs.map((r) => r.jitterTop1Rate))}` : '';
  }),
);
const table = [...lines, '', ...totals.filter(Boolean).map((t) => `- ${t}`), ''].join('\n');
await fs.writeFile(path.join(out, 'table.md'), table);
console.log(table);
for (const c of contexts.values()) c.graph.dispose();
const failures = [...new Set(results.filter((r) => r.failed).map((r) => `${r.model} ${r.method}: ${r.failed}`))];
if (failures.length) console.log(`Failed units:\n${failures.map((f) => `- ${f}`).join('\n')}`);
