/**
 * `npm run bench [-- --json] [--quick] [--backends wasm,cpu] [--no-e2e] [--no-steps] [--workers 1,2] [--no-torch] [--webgpu-software]`
 *
 * Times gradient steps (the lecture's ascent step: lean graph, channel objective, input gradient,
 * normalized update) per backend × model × layer × size × batch; a native PyTorch reference for the
 * MobileNet v1 trunk when Python with torch is importable; and a small atlas end to end through
 * runPipeline. Prints a table, or with --json one JSON object per line.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES, CANDIDATES, selectBackend, type BackendName } from '../pipeline/engine/backend.ts';
import { buildLeanGraph, type LeanGraph } from '../pipeline/engine/graph.ts';
import { loadLayersModelFromFile } from '../pipeline/model/load.ts';
import { valueAndGradOfParams } from '../pipeline/engine/step.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { normalizedAscent } from '../pipeline/render/optimizers.ts';
import { channelObjective } from '../pipeline/render/objectives.ts';
import { runPipeline } from '../pipeline/run.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
};
const json = flag('json');
const quick = flag('quick');
const modelsDir = process.env.ATLAS_MODELS ?? path.resolve(root, '..', 'shared', 'models');

interface StepCase {
  model: string;
  layer: string;
  size: number;
  batch: number;
}

export interface StepRow extends StepCase {
  kind: 'step';
  backend: string;
  msPerStep: number;
  unitStepsPerSec: number;
  steps: number;
}

const out: Record<string, unknown>[] = [];
function emit(row: Record<string, unknown>): void {
  out.push(row);
  if (json) process.stdout.write(JSON.stringify(row) + '\n');
}
const log = (line: string) => {
  if (!json) process.stdout.write(line + '\n');
  else process.stderr.write(line + '\n');
};

const M75 = 'mobilenet_v1_0.75_224';
const M25 = 'mobilenet_v1_0.25_224';

/** What to time on a backend: fast backends get the full grid, slow ones the headline row. */
function plan(backend: string): { cases: StepCase[]; steps: number } {
  if (quick) return { cases: [{ model: M25, layer: 'conv_dw_2_relu', size: 64, batch: 1 }, { model: M25, layer: 'conv_dw_2_relu', size: 64, batch: 2 }], steps: 1 };
  if (backend === 'cpu') return { cases: [{ model: M75, layer: 'conv_pw_13_relu', size: 224, batch: 1 }, { model: M25, layer: 'conv_pw_13_relu', size: 224, batch: 1 }], steps: 2 };
  const cases: StepCase[] = [];
  for (const layer of ['conv_dw_2_relu', 'conv_pw_6_relu', 'conv_pw_13_relu']) for (const batch of [1, 2, 4, 8]) cases.push({ model: M75, layer, size: 224, batch });
  cases.push({ model: M75, layer: 'conv_pw_13_relu', size: 128, batch: 1 });
  for (const batch of [1, 4]) cases.push({ model: M25, layer: 'conv_pw_13_relu', size: 224, batch });
  return { cases, steps: backend === 'webgpu' ? 3 : 5 };
}

async function timeStep(graph: LeanGraph, c: StepCase, steps: number): Promise<number> {
  const obj = channelObjective(c.layer, Array.from({ length: c.batch }, (_, i) => i), 2, true);
  const engine = tfjsEngine(graph);
  const ascent = normalizedAscent(1);
  let x = tf.randomUniform([c.batch, c.size, c.size, 3], -0.1, 0.1) as tf.Tensor4D;
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    // The lecture's step: value and input gradient, then the normalized update.
    const { value, grad } = await valueAndGradOfParams(engine, obj, (p) => ({ input: p as tf.Tensor4D }), x);
    const next = ascent.step(x, grad, i) as tf.Tensor4D;
    await value.data();
    tf.dispose([value, grad, x]);
    x = next;
    if (i > 0) times.push(performance.now() - t0);
  }
  x.dispose();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function benchBackend(backend: BackendName): Promise<void> {
  const { cases, steps } = plan(backend);
  const byModel = new Map<string, StepCase[]>();
  for (const c of cases) byModel.set(c.model, [...(byModel.get(c.model) ?? []), c]);
  for (const [model, list] of byModel) {
    const file = path.join(modelsDir, model, 'model.json');
    if (!fs.existsSync(file)) {
      log(`skip ${model}: ${file} not found (set ATLAS_MODELS)`);
      continue;
    }
    const loaded = await loadLayersModelFromFile(file);
    const graph = buildLeanGraph(loaded.model);
    loaded.model.dispose();
    for (const c of list) {
      const ms = await timeStep(graph, c, steps);
      emit({ kind: 'step', backend, ...c, msPerStep: round(ms), unitStepsPerSec: round((c.batch * 1000) / ms), steps });
    }
    graph.dispose();
  }
}

function round(v: number): number {
  return Number(v.toPrecision(4));
}

/** Python with torch: ATLAS_PYTHON, python3, then the system /usr/bin/python3. */
function findTorchPython(): string | undefined {
  for (const py of [process.env.ATLAS_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
      return py;
    } catch {
      // next
    }
  }
  return undefined;
}

function torchRow(py: string, alpha: number, model: string): StepRow & { torch: string } {
  const steps = quick ? 3 : 10;
  const text = execFileSync(py, [path.join(root, 'bench', 'torch_ref.py'), String(alpha), '224', '1', '2', String(steps)], { encoding: 'utf8', timeout: 300_000 });
  const r = JSON.parse(text.trim().split('\n').pop()!) as { msPerStep: number; torch: string; threads: number };
  return { kind: 'step', backend: `pytorch-cpu (${r.threads} threads)`, model, layer: 'conv_pw_13_relu', size: 224, batch: 1, msPerStep: round(r.msPerStep), unitStepsPerSec: round(1000 / r.msPerStep), steps, torch: r.torch };
}

/** End to end with `workers` worker processes (render.workers): the same atlas, so rows compare. */
async function endToEnd(workers: number): Promise<void> {
  const model = quick ? M25 : M75;
  const source = path.join(modelsDir, model);
  if (!fs.existsSync(path.join(source, 'model.json'))) return log(`skip end to end: ${source} not found`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-'));
  const units = quick ? 2 : 12;
  const config = [
    `model: { id: ${model}, source: ${JSON.stringify(source)} }`,
    quick ? 'layers: { conv_dw_2_relu: 0-1 }' : 'layers: { conv_pw_2_relu: 0-3, conv_pw_6_relu: 0-3, conv_pw_13_relu: 0-3 }',
    'render:',
    `  filters: { steps: ${quick ? 2 : 30} }`,
    quick ? '  size: 64' : '',
    '  batch: auto',
    `output: ${JSON.stringify(path.join(dir, 'out'))}`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'atlas.config.yaml'), config);
  const load1 = round(os.loadavg()[0]!);
  const t0 = performance.now();
  const summary = await runPipeline({ configFile: path.join(dir, 'atlas.config.yaml'), quiet: true, env: {}, workers });
  const seconds = (performance.now() - t0) / 1000;
  emit({ kind: 'e2e', backend: summary.backend.name, model, units, steps: quick ? 2 : 30, workers, load1, seconds: round(seconds), unitsPerMinute: round((summary.computed * 60) / seconds), failed: summary.failed });
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const wanted = option('backends')?.split(',') ?? (quick ? ['wasm'] : [...BACKEND_NAMES]);
  const available: BackendName[] = [];
  for (const name of wanted as BackendName[]) {
    if (!CANDIDATES.some((c) => c.name === name)) throw new Error(`unknown backend ${name}`);
    try {
      if (name === 'webgpu' && !flag('webgpu-software')) {
        const { loadWebGpu } = await import('../pipeline/engine/webgpu.ts');
        await loadWebGpu({ allowSoftware: false });
      }
      const sel = await selectBackend(name);
      log(`backend ${name}: available${sel.detail ? ` (${sel.detail})` : ''}`);
      available.push(name);
    } catch (err) {
      log(`backend ${name}: skipped (${(err as Error).message.split('\n')[0]})`);
    }
  }
  for (const b of flag('no-steps') ? [] : available) {
    await selectBackend(b);
    await benchBackend(b);
  }
  if (!flag('no-torch')) {
    const py = findTorchPython();
    if (!py) log('pytorch reference: skipped (no python with torch; Debian: apt-get install python3-torch, or set ATLAS_PYTHON)');
    else {
      for (const [alpha, model] of (quick ? [[0.25, M25]] : [[0.75, M75], [0.25, M25]]) as [number, string][]) {
        const row = torchRow(py, alpha, model);
        emit(row as unknown as Record<string, unknown>);
        const ours = out.find((r) => r.kind === 'step' && r.model === model && r.layer === 'conv_pw_13_relu' && r.size === 224 && r.batch === 1 && r.backend === available.find((b) => b !== 'cpu'));
        if (ours) emit({ kind: 'ratio', model, layer: 'conv_pw_13_relu', size: 224, batch: 1, backend: ours.backend, reference: row.backend, ratio: round((ours.msPerStep as number) / row.msPerStep) });
      }
    }
  }
  if (!flag('no-e2e')) {
    await selectBackend('auto');
    for (const n of (option('workers') ?? '1,2').split(',').map(Number)) await endToEnd(n);
  }
  if (!json) printTables();
}

function printTables(): void {
  const steps = out.filter((r) => r.kind === 'step');
  const cols = ['backend', 'model', 'layer', 'size', 'batch', 'msPerStep', 'unitStepsPerSec'];
  const table = (rows: Record<string, unknown>[], keys: string[]) => {
    const w = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
    const line = (vals: string[]) => vals.map((v, i) => (i >= 3 ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ');
    console.log(line(keys));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
  };
  console.log(`\nGradient steps (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs: ${os.cpus()[0]?.model ?? '?'})`);
  table(steps, cols);
  for (const r of out.filter((r) => r.kind === 'ratio')) console.log(`\n${r.model} → ${r.layer}, 224, batch 1: ${r.backend} is ${r.ratio}× the time of ${r.reference}`);
  const e2e = out.filter((r) => r.kind === 'e2e');
  for (const r of e2e) console.log(`\nEnd to end (${r.backend}, ${r.model}, ${r.units} units × ${r.steps} steps, batch auto, ${r.workers} worker${r.workers === 1 ? '' : 's'}): ${r.seconds} s, ${r.unitsPerMinute} units/min`);
  const one = e2e.find((r) => r.workers === 1);
  for (const r of e2e.filter((r) => one && r.workers !== 1)) console.log(`${r.workers} workers: ${round((r.unitsPerMinute as number) / (one!.unitsPerMinute as number))}× the units/min of 1 (1-minute load average before each: ${one!.load1}, ${r.load1})`);
}

await main();
// Dawn (webgpu) keeps the event loop alive.
process.exit(0);
