/**
 * The live page's speed (`npx tsx bench/live.ts [--dist dist] [--data atlas-data] [--steps 30]`, on
 * a built default atlas): steps per second of one lecture unit of MobileNet v1 0.75 at 224 px
 * (conv_pw_5_relu filter 3, the atlas's settings and seed) in headless Chromium on each browser
 * backend (as the page reports it), beside the pipeline's own steps on wasm and onnx-cpu in Node
 * through the same render loop and the same model files. Every rate leaves out the first step
 * (shader compilation, warm-up) and records a frame at every step, as the page does. One JSON line
 * per row on stdout and appended to bench/results/live.jsonl. WebGL and WebGPU in a headless browser
 * without a GPU run on software (SwiftShader, lavapipe): their rows say what ran, or why nothing did.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { leanGraphOf } from '../pipeline/engine/graph.ts';
import { createGradientEngine } from '../pipeline/engine/select-engine.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { decodeLiveGraph, type LiveGraphJson } from '../pipeline/output/live-graph.ts';
import { readManifest } from '../pipeline/output/manifest.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';
import { CHROMIUM } from '../test/support/browser.ts';
import { serveStatic } from '../test/support/serve.ts';
import { liveReport } from '../test/support/live.ts';

const { values: args } = parseArgs({ options: { dist: { type: 'string', default: 'dist' }, data: { type: 'string', default: 'atlas-data' }, steps: { type: 'string', default: '30' } } });
const LAYER = 'conv_pw_5_relu';
const FILTER = 3;
const steps = Number(args.steps);
const manifest = await readManifest(args.data!);
if (!manifest.live || !('graph' in manifest.live)) throw new Error(`${args.data}: no live files (run the pipeline, then astro build)`);
const live = manifest.live;
const unit = manifest.units.find((u) => u.key === `lecture/filter/${LAYER}/${FILTER}`);
const seed = unit?.seed ?? 1;
const rows: Record<string, unknown>[] = [];
const base = { model: manifest.model.id, layer: LAYER, filter: FILTER, size: 224, steps, date: new Date().toISOString() };
const emit = (row: Record<string, unknown>) => {
  const r = { kind: 'live-step', ...base, ...row };
  rows.push(r);
  console.log(JSON.stringify(r));
};

/** Steps per second of the pipeline's render loop on `backend`, timed as the page times it. */
async function pipelineRate(backend: 'wasm' | 'onnx-cpu'): Promise<number> {
  const selected = await selectBackend(backend);
  const json = JSON.parse(await fs.readFile(path.join(args.data!, live.graph), 'utf8')) as LiveGraphJson;
  const dir = path.dirname(path.join(args.data!, live.graph));
  const shards = await Promise.all(json.shards.map(async (s) => (await fs.readFile(path.join(dir, s.file))).buffer.slice(0) as ArrayBuffer));
  const graph = leanGraphOf(decodeLiveGraph(json, shards));
  const { engine } = await createGradientEngine(selected, { nodes: graph.lowered }, () => tfjsEngine(graph));
  const settings = { ...live.settings.lecture!.filterCapped, steps };
  const method = METHODS.lecture!;
  const objective = method.objective(settings, { kind: 'filter', node: LAYER, indices: [FILTER], isLogit: true });
  const ends: number[] = [];
  await renderBatch(
    { ...method.plan(settings, [{ key: `lecture/filter/${LAYER}/${FILTER}`, seed }], objective), frameEvery: 1 },
    { engine, pixels: json.pixels, onStep: () => void ends.push(performance.now()) },
  );
  engine.dispose();
  graph.dispose();
  return (ends.length - 1) / ((ends[ends.length - 1]! - ends[0]!) / 1000);
}

for (const backend of ['wasm', 'onnx-cpu'] as const) emit({ where: 'pipeline (Node)', backend, stepsPerSec: Number((await pipelineRate(backend)).toFixed(2)) });

const server = await serveStatic(path.resolve(args.dist!), manifest.site.base);
/** WebGPU needs its flag in headless Chromium; with no GPU it gets a software (Vulkan lavapipe / SwiftShader) adapter at best. */
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
});
try {
  for (const backend of ['webgpu', 'webgl', 'wasm']) {
    const page = await browser.newPage();
    await page.goto(`${server.url}live/?layer=${LAYER}&filter=${FILTER}&method=lecture&steps=${steps}&seed=${seed}&backend=${backend}&autorun=1`);
    const report = await liveReport(page, 900_000);
    const renderer = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      return gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : undefined;
    });
    emit({
      where: 'browser (headless Chromium)',
      backend,
      ...(report.state === 'done' ? { stepsPerSec: Number(report.stepsPerSec!.toFixed(2)) } : { failed: report.message }),
      ...(backend === 'webgl' && renderer ? { renderer } : {}),
    });
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
await fs.mkdir(path.join('bench', 'results'), { recursive: true });
await fs.appendFile(path.join('bench', 'results', 'live.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
