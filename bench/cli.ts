/**
 * `npm run bench [-- --json] [--quick] [--backends wasm,onnx-cpu] [--no-e2e] [--no-steps] [--workers 1,2] [--rounds 2] [--e2e-backends wasm,onnx-cpu] [--e2e-media compact,budget,full] [--e2e-units 48] [--no-torch] [--no-notes] [--no-dataset] [--no-lucid] [--webgpu-software] [--torch-device cuda] [--batches 1,16,64] [--steps-per-call 4,8] [--step-rounds 3] [--trunks]`
 *
 * Times gradient steps (the lecture's ascent step: channel objective, input gradient, normalized
 * update) per backend × model × layer × size × batch: TF.js backends through the lean graph, onnx-*
 * through the ONNX engine (with its copy cost), and on onnx-* also K steps chained per call
 * (`stepsPerCall`, --steps-per-call); issue 16's trunks (MobileNet v1 0.75, ResNet50V2,
 * VGG16) on wasm and onnx-*, and the notes' job (512 filters × 300 steps of conv3_block4_out)
 * projected per backend; native PyTorch references of the same trunks (bench/torch_ref.py) when
 * Python with torch is importable; on wasm, a lucid unit-step beside a lecture unit-step for a class and a
 * mid-layer filter (issue 15, `lucid-steps.ts`); and a small atlas end to end through runPipeline. Prints a table, or with
 * --json one JSON object per line.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES, CANDIDATES, selectBackend, type BackendName } from '../pipeline/engine/backend.ts';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { lowerSpec } from '../pipeline/engine/lower.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { physicalCores } from '../pipeline/engine/cores.ts';
import { relaunchWithCudaLibraries } from '../pipeline/engine/onnx/cuda-libs.ts';
import { loadOrt, type ProviderName } from '../pipeline/engine/onnx/runtime.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { datasetRow } from './dataset.ts';
import { endToEndRow, speedups } from './end-to-end.ts';
import { benchSpec, M25, M75, median, RESNET, TRUNKS, timeChainedStep, timeEngineStep, VGG } from './engines.ts';
import { MAX_STEPS_PER_CALL } from '../pipeline/render/chain-loop.ts';
import { loadGraph, SHARED_MODELS } from './lucid-common.ts';
import { lucidStepRows } from './lucid-steps.ts';
import { printTables } from './tables.ts';
import { benchMeta } from './meta.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
};
const HELP = `usage: npm run bench [-- --json] [--quick] [--backends wasm,onnx-cpu] [--no-steps] [--no-e2e] [--no-torch] [--no-notes]
                 [--no-lucid] [--no-dataset] [--batches 1,16,64] [--workers 1,2] [--rounds 2] [--e2e-backends LIST]
                 [--e2e-media compact,full] [--e2e-units 48] [--webgpu-software] [--torch-device cuda] [--note TEXT]
                 [--steps-per-call 4,8] [--step-rounds 3]

Times gradient steps per backend, model, layer, size and batch; lucid against lecture steps; a small
atlas end to end with 1 and 2 workers; the dataset pass; and PyTorch where it is importable.
--json prints one JSON object per line, the first (kind "meta") naming the date, machine and command;
--note TEXT adds a remark to it. Results to keep go to bench/results/ (then: npm run docs).

More: docs/performance.md (what the numbers mean) and bench/README.md (how they are measured).
`;
if (flag('help')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const json = flag('json');
const quick = flag('quick');
const modelsDir = SHARED_MODELS;
/** --batches: the batch sizes to time instead of the plan's (a GPU is far from busy at 4). */
const batches = option('batches')?.split(',').map(Number);
/** --steps-per-call: the chain lengths K timed on onnx-* beside one step per call (default: the render loop's, MAX_STEPS_PER_CALL). */
const stepsPerCall = option('steps-per-call')?.split(',').map(Number) ?? [MAX_STEPS_PER_CALL];
/** --step-rounds: on onnx-*, how many times one step per call and each K are timed, interleaved (default 1). */
const stepRounds = Number(option('step-rounds') ?? 1);

interface StepCase {
  model: string;
  layer: string;
  size: number;
  batch: number;
  /** Timed steps when not the plan's (slow trunks on wasm). */
  steps?: number;
}

export interface StepRow extends StepCase {
  kind: 'step';
  backend: string;
  /** Steps per engine call: 1, or K steps chained into one ONNX model (`render/chain-loop.ts`). */
  stepsPerCall: number;
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

/** What to time on a backend: fast backends get the full grid, slow ones the headline row. */
function plan(backend: string): { cases: StepCase[]; steps: number } {
  if (quick)
    return {
      cases: [
        { model: M25, layer: 'conv_dw_2_relu', size: 64, batch: 1 },
        { model: M25, layer: 'conv_dw_2_relu', size: 64, batch: 2 },
      ],
      steps: 1,
    };
  // Issue 16's trunks at 224 px; --no-notes leaves out the notes' ResNet50V2 and VGG16.
  const trunks = (models: string[], steps?: number): StepCase[] =>
    TRUNKS.filter((t) => models.includes(t.model) && (t.model === M75 || !flag('no-notes'))).flatMap((t) =>
      (batches ?? [1, 2, 4]).map((batch) => ({ ...t, size: 224, batch, ...(steps ? { steps } : {}) })),
    );
  // --trunks: those alone on every backend (the GPU check's grid, bench/gpu-check.sh).
  if (backend.startsWith('onnx-') || flag('trunks')) return { cases: trunks([M75, RESNET, VGG]), steps: backend.startsWith('onnx-') ? 5 : 3 };
  if (backend === 'cpu')
    return {
      cases: [
        { model: M75, layer: 'conv_pw_13_relu', size: 224, batch: 1 },
        { model: M25, layer: 'conv_pw_13_relu', size: 224, batch: 1 },
      ],
      steps: 2,
    };
  const cases: StepCase[] = [];
  for (const layer of ['conv_dw_2_relu', 'conv_pw_6_relu', 'conv_pw_13_relu']) for (const batch of batches ?? [1, 2, 4, 8]) cases.push({ model: M75, layer, size: 224, batch });
  cases.push({ model: M75, layer: 'conv_pw_13_relu', size: 128, batch: 1 });
  for (const batch of [1, 4]) cases.push({ model: M25, layer: 'conv_pw_13_relu', size: 224, batch });
  // The slow trunks get 3 timed steps (wasm VGG16 at batch 4: ~12 s a step).
  cases.push(...trunks([RESNET, VGG], 3));
  return { cases, steps: backend === 'webgpu' ? 3 : 5 };
}

async function benchBackend(backend: BackendName, onnx?: ProviderName): Promise<void> {
  const { cases, steps } = plan(backend);
  const byModel = new Map<string, StepCase[]>();
  for (const c of cases) byModel.set(c.model, [...(byModel.get(c.model) ?? []), c]);
  const ort = onnx ? await loadOrt() : undefined;
  const threads = physicalCores();
  for (const [model, list] of byModel) {
    const spec = await benchSpec(model, modelsDir);
    if (!spec) {
      log(`skip ${model}: not found in ${modelsDir} (set ATLAS_MODELS)`);
      continue;
    }
    if (ort && onnx) {
      const engine = new OnnxEngine(lowerSpec(spec).nodes, { ort, provider: onnx, threads });
      for (const c of list) {
        // One step per call and each K, interleaved round by round (the order reversed every other
        // round) so that they share the machine's load; each row is the median of its rounds' medians.
        const ks = [1, ...stepsPerCall.filter((k) => k > 1)];
        const times = new Map<number, number[]>(ks.map((k) => [k, []]));
        const copy: number[] = [];
        const callsOf = (k: number) => Math.max(3, Math.ceil((c.steps ?? steps) / k));
        for (let r = 0; r < stepRounds; r++)
          for (const k of r % 2 ? [...ks].reverse() : ks) {
            if (k > 1) {
              times.get(k)!.push(await timeChainedStep(engine, c.layer, c.size, c.batch, k, callsOf(k)));
              continue;
            }
            const before = { ...engine.stats };
            times.get(1)!.push(await timeEngineStep(engine, c.layer, c.size, c.batch, c.steps ?? steps));
            copy.push((engine.stats.copyMs - before.copyMs) / (engine.stats.runs - before.runs));
          }
        const rounds = stepRounds > 1 ? { rounds: stepRounds } : {};
        for (const k of ks) {
          const ms = median(times.get(k)!);
          const timed = (k === 1 ? (c.steps ?? steps) : callsOf(k) * k) * stepRounds;
          emit({
            kind: 'step',
            backend,
            ...c,
            stepsPerCall: k,
            msPerStep: round(ms),
            unitStepsPerSec: round((c.batch * 1000) / ms),
            steps: timed,
            ...rounds,
            threads,
            ...(k === 1 ? { copyMsPerStep: round(median(copy)) } : {}),
          });
        }
      }
      engine.dispose();
      continue;
    }
    const graph = buildLeanGraph(spec);
    for (const c of list) {
      const ms = await timeEngineStep(tfjsEngine(graph), c.layer, c.size, c.batch, c.steps ?? steps);
      emit({ kind: 'step', backend, ...c, stepsPerCall: 1, msPerStep: round(ms), unitStepsPerSec: round((c.batch * 1000) / ms), steps: c.steps ?? steps });
    }
    graph.dispose();
  }
}

/** The notes' job (512 filters × 300 steps of ResNet50V2 conv3_block4_out, 224 px) at each backend's best batch. */
function projectNotesJob(): void {
  const backends = [...new Set(out.filter((r) => r.kind === 'step').map((r) => r.backend as string))];
  for (const backend of backends) {
    const rows = out.filter((r) => r.kind === 'step' && r.backend === backend && r.model === RESNET && r.size === 224);
    if (!rows.length) continue;
    const best = rows.reduce((a, b) => ((b.unitStepsPerSec as number) > (a.unitStepsPerSec as number) ? b : a));
    const hours = (512 * 300) / (best.unitStepsPerSec as number) / 3600;
    emit({ kind: 'projection', backend, model: RESNET, layer: 'conv3_block4_out', units: 512, steps: 300, batch: best.batch, hours: round(hours) });
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

/** `net`: a MobileNet width (0.75, 0.25) or a notes model (resnet50v2, vgg16); see torch_ref.py. */
function torchRow(py: string, net: string, model: string, layer: string, device: string, batch: number): StepRow & { torch: string } {
  const steps = quick ? 3 : net.startsWith('0') ? 10 : 5;
  const text = execFileSync(py, [path.join(root, 'bench', 'torch_ref.py'), net, '224', String(batch), '2', String(steps), device], { encoding: 'utf8', timeout: 600_000 });
  const r = JSON.parse(text.trim().split('\n').pop()!) as { msPerStep: number; torch: string; threads: number; device: string };
  return {
    kind: 'step',
    backend: device === 'cpu' ? `pytorch-cpu (${r.threads} threads)` : `pytorch-${device} (${r.device})`,
    model,
    layer,
    size: 224,
    batch,
    stepsPerCall: 1,
    msPerStep: round(r.msPerStep),
    unitStepsPerSec: round((batch * 1000) / r.msPerStep),
    steps,
    torch: r.torch,
  };
}

async function main(): Promise<void> {
  relaunchWithCudaLibraries();
  emit({ ...benchMeta('bench', args) });
  const wanted = option('backends')?.split(',') ?? (quick ? ['wasm'] : [...BACKEND_NAMES]);
  const available: BackendName[] = [];
  for (const name of wanted as BackendName[]) {
    if (!CANDIDATES.some((c) => c.name === name)) throw new Error(`unknown backend ${name}`);
    try {
      if (name === 'webgpu' && !flag('webgpu-software')) {
        const { loadWebGpu } = await import('../pipeline/engine/webgpu.ts');
        await loadWebGpu({ allowSoftware: false });
      }
      // onnx-webgpu as auto would take it (a hardware adapter) unless --webgpu-software.
      if (name === 'onnx-webgpu' && !flag('webgpu-software')) (await import('../pipeline/engine/webgpu.ts')).prepareOrtWebGpu(false);
      const sel = await selectBackend(name);
      log(`backend ${name}: available${sel.detail ? ` (${sel.detail})` : ''}`);
      available.push(name);
    } catch (err) {
      log(`backend ${name}: skipped (${(err as Error).message.split('\n')[0]})`);
    }
  }
  for (const b of flag('no-steps') ? [] : available) {
    const sel = await selectBackend(b);
    await benchBackend(b, sel.onnx);
  }
  projectNotesJob();
  if (!flag('no-torch')) {
    const py = findTorchPython();
    // --torch-device cuda: the reference on the GPU (the native speed a GPU backend is held to).
    const device = option('torch-device') ?? 'cpu';
    if (!py) log('pytorch reference: skipped (no python with torch; Debian: apt-get install python3-torch, or set ATLAS_PYTHON)');
    else {
      const notes = quick || flag('no-notes') ? [] : TRUNKS.filter((t) => t.model !== M75).map((t): [string, string, string] => [t.model, t.model, t.layer]);
      const nets: [string, string, string][] = [
        [quick ? '0.25' : '0.75', quick ? M25 : M75, 'conv_pw_13_relu'],
        ...(quick || flag('trunks') ? [] : [['0.25', M25, 'conv_pw_13_relu'] as [string, string, string]]),
        ...notes,
      ];
      for (const [net, model, layer] of nets)
        for (const batch of batches ?? [1]) {
          const row = torchRow(py, net, model, layer, device, batch);
          emit(row as unknown as Record<string, unknown>);
          // Every available backend's row at this batch against the reference (onnx-cpu and wasm alike).
          for (const ours of out.filter(
            (r) => r.kind === 'step' && r.model === model && r.layer === layer && r.size === 224 && r.batch === batch && r.backend !== 'cpu' && available.includes(r.backend as BackendName),
          )) {
            emit({
              kind: 'ratio',
              model,
              layer,
              size: 224,
              batch,
              backend: ours.backend,
              stepsPerCall: ours.stepsPerCall,
              reference: row.backend,
              ratio: round((ours.msPerStep as number) / row.msPerStep),
            });
          }
        }
    }
  }
  // Issue 15's rows on wasm (the measure) and on a hardware WebGPU adapter when one came up.
  for (const backend of flag('no-lucid') ? [] : available.filter((b) => b === 'wasm' || b === 'webgpu')) {
    await selectBackend(backend);
    const model = quick ? M25 : M75;
    const dir = path.join(modelsDir, model);
    if (!fs.existsSync(path.join(dir, 'model.json'))) log(`skip lucid steps: ${dir} not found`);
    else {
      const { graph, logitNode } = await loadGraph(dir);
      const targets = quick ? ['conv_pw_2_relu'] : ['conv_pw_6_relu', undefined];
      for (const row of await lucidStepRows({ graph, logitNode, backend, model, targets, size: quick ? 64 : 224, batch: quick ? 2 : 4, rounds: quick ? 1 : 8, steps: quick ? 3 : 7 }))
        emit(row as unknown as Record<string, unknown>);
      graph.dispose();
    }
  }
  if (!flag('no-e2e')) {
    // wasm and onnx-cpu (whichever came up) unless --e2e-backends names others; rounds alternate the worker counts.
    const e2eBackends = (option('e2e-backends')?.split(',') as BackendName[] | undefined) ?? available.filter((b) => b === 'wasm' || b === 'onnx-cpu');
    const counts = (option('workers') ?? '1,2').split(',').map(Number);
    const rounds = Number(option('rounds') ?? (quick ? 1 : 2));
    // A whole-model atlas is what workers are for: at the default budget its media are `compact` (see Media budget).
    const media = (option('e2e-media') ?? 'compact').split(',');
    const perLayer = Number(option('e2e-units') ?? (quick ? 6 : 48)) / 3;
    for (const backend of e2eBackends)
      for (const tier of media)
        for (let r = 0; r < rounds; r++)
          for (const workers of r % 2 ? [...counts].reverse() : counts) {
            const row = await endToEndRow({ modelsDir, model: quick ? M25 : M75, backend, workers, quick, perLayer, ...(tier ? { media: tier } : {}) });
            if (row) emit(row);
            else log(`skip end to end: ${path.join(modelsDir, quick ? M25 : M75)} not found`);
          }
    for (const s of speedups(out.filter((r) => r.kind === 'e2e'))) emit({ kind: 'e2e-speedup', ...s });
  }
  if (!flag('no-dataset')) emit(await datasetRow(quick ? 1 : 4));
  if (!json) printTables(out);
}

await main();
// Dawn (webgpu) keeps the event loop alive.
process.exit(0);
