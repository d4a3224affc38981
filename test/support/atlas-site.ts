/**
 * A small real atlas for site tests: writes a config in a temp folder (MobileNet v1 0.25 from the
 * test models, `models.ts`; 64-px images, 3 steps), runs the pipeline CLI and builds the
 * site with `astro build`, both as child processes like a user would.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MANIFEST_FILE, readManifest, type Manifest } from '../../pipeline/output/manifest.ts';

const run = promisify(execFile);
const BIN = path.join(ROOT, 'node_modules', '.bin');
/** The test models (`models.ts`), searched first by id; the config names the public URL. */
export { MODELS, ROOT } from './fixtures.ts';
import { MODELS, ROOT } from './fixtures.ts';
import { PUBLIC_MODELS } from './models.ts';
export const MODEL_ID = 'mobilenet_v1_0.25_224';
const MODEL_URL = PUBLIC_MODELS[MODEL_ID]!;
export const BASE = '/atlas-test/';
export const SITE_URL = 'https://example.org';

export interface AtlasOptions {
  layers?: Record<string, string | number | (string | number)[]>;
  classes?: (string | number)[];
  /** Output folder; default `<dir>/data`. */
  output?: string;
  /** Units per batch (default 8). */
  batch?: number;
  /** A dataset folder of photos (dataset examples on unit pages). */
  dataset?: string;
  /** `site.media` (default: the config's default, `budget`). */
  media?: string;
  /** `render.backend` (default: the config's default, `auto`). */
  backend?: string;
}

export const DEFAULT_LAYERS = { conv_pw_2_relu: '0-3', conv_pw_5_relu: [1, 7] };
export const DEFAULT_CLASSES = [141, 'goldfish', 'espresso'];

export function configYaml(opts: AtlasOptions, output: string): string {
  const layers = opts.layers ?? DEFAULT_LAYERS;
  const classes = opts.classes ?? DEFAULT_CLASSES;
  return [
    'model:',
    `  id: ${MODEL_ID}`,
    `  source: ${MODEL_URL}`,
    `  labels: ${JSON.stringify(path.join(ROOT, 'labels', 'imagenet.json'))}`,
    'layers:',
    ...Object.entries(layers).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    `classes: ${JSON.stringify(classes)}`,
    'render:',
    '  size: 64',
    '  filters: {steps: 3}',
    '  classes: {steps: 3}',
    `  batch: ${opts.batch ?? 8}`,
    ...(opts.backend ? [`  backend: ${opts.backend}`] : []),
    `output: ${JSON.stringify(output)}`,
    ...(opts.dataset ? [`dataset: { folder: ${JSON.stringify(opts.dataset)} }`] : []),
    'site:',
    '  title: Test atlas',
    `  url: ${SITE_URL}`,
    `  base: ${BASE}`,
    ...(opts.media ? [`  media: ${opts.media}`] : []),
    '',
  ].join('\n');
}

export async function tempDir(prefix = 'fa-site-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes `<dir>/<name>.yaml` and runs the pipeline on it. Returns the config path. */
export async function runPipeline(dir: string, opts: AtlasOptions = {}, name = 'atlas'): Promise<string> {
  const config = path.join(dir, `${name}.yaml`);
  await fs.writeFile(config, configYaml(opts, opts.output ?? path.join(dir, 'data')));
  const env = { ...process.env, ATLAS_MODELS: MODELS };
  await run(path.join(BIN, 'tsx'), [path.join(ROOT, 'pipeline/cli.ts'), 'pipeline', '--config', config, '--quiet'], { cwd: ROOT, env, maxBuffer: 1 << 26 });
  return config;
}

/** `astro build` of a config into `outDir` (the site-only build, `npm run site`); returns its output. */
export async function buildSite(config: string, outDir: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout, stderr } = await run(path.join(BIN, 'astro'), ['build', '--outDir', outDir], {
    cwd: ROOT,
    env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', ...env, ATLAS_CONFIG: config },
    maxBuffer: 1 << 26,
  });
  return `${stdout}\n${stderr}`;
}

/**
 * Adds what the pipeline does not write yet to a manifest: every class label (`model.labels`, from
 * the labels file the config names) and the model map (`model.layers`, from the model's Keras
 * topology in model.json). Stands in for the pipeline until it fills both.
 */
export async function addLabelsAndModelMap(dataDir: string): Promise<Manifest> {
  const m = await readManifest(dataDir);
  const labels = JSON.parse(await fs.readFile(path.join(ROOT, 'labels', 'imagenet.json'), 'utf8')) as string[];
  const topology = JSON.parse(await fs.readFile(path.join(MODELS, MODEL_ID, 'model.json'), 'utf8')) as { modelTopology: KerasTopology };
  const config = (topology.modelTopology.model_config ?? topology.modelTopology).config;
  const layers = config.layers.map((l) => ({
    name: l.config.name,
    className: l.class_name,
    outputShape: m.layers.find((x) => x.name === l.config.name)?.outputShape ?? [],
    inputs: (l.inbound_nodes[0] ?? []).map((n) => n[0]),
  }));
  const enriched = { ...m, model: { ...m.model, labels, layers } };
  await fs.writeFile(path.join(dataDir, MANIFEST_FILE), JSON.stringify(enriched));
  return enriched;
}

interface KerasTopology {
  model_config?: KerasTopology;
  config: { layers: { class_name: string; config: { name: string }; inbound_nodes: [string, ...unknown[]][][] }[] };
}

/** Every built HTML page as a base-relative page path ("", "layers/x/", "404.html"). */
export async function builtPages(dist: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dist, { recursive: true })) {
    const rel = entry.split(path.sep).join('/');
    if (rel.startsWith('data/') || !rel.endsWith('.html')) continue;
    out.push(rel === 'index.html' ? '' : rel.endsWith('/index.html') ? rel.slice(0, -'index.html'.length) : rel);
  }
  return out.sort();
}
