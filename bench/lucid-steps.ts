/**
 * Issue 15's measure: a lucid unit-step beside a lecture unit-step at the same model, target, size
 * and batch, each method with its own default settings and objective for the target, through the
 * render loop itself (`renderBatch`, so everything a real step does counts: parameterization,
 * transforms, engine, optimizer, the value read back). The two methods run interleaved, `rounds`
 * times each, and every step's time is taken from the loop's `onStep`; the row gives the medians
 * (the first step of every run, which also records the first frame, is left out). Two clocks: wall
 * time, and this process's CPU time (user + system), which other jobs on a shared machine disturb
 * far less; the ratio is of CPU times (the TF.js backends here compute on this thread).
 */
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { Method, MethodSettings } from '../pipeline/render/method.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';
import { median } from './engines.ts';

export interface LucidStepRow {
  kind: 'lucid-step';
  backend: string;
  model: string;
  /** The filter layer, or 'class logits'. */
  layer: string;
  size: number;
  batch: number;
  /** CPU ms per unit-step. */
  lucidMsPerUnitStep: number;
  lectureMsPerUnitStep: number;
  /** lucid ÷ lecture, CPU time. */
  ratio: number;
  /** The same by wall time. */
  lucidWallMsPerUnitStep: number;
  lectureWallMsPerUnitStep: number;
  wallRatio: number;
  /** Timed steps per method (rounds × (steps − 1)). */
  steps: number;
}

const round = (v: number) => Number(v.toPrecision(4));

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU and wall times of steps 1..steps−1 of one batch of `method`. */
async function stepTimes(graph: LeanGraph, logitNode: string, id: string, layer: string | undefined, size: number, batch: number, steps: number): Promise<{ cpu: number[]; wall: number[] }> {
  const method = METHODS[id] as Method<MethodSettings>;
  const config = configSchema.parse({
    model: { id: 'bench', source: 'x' },
    render: { lucid: { steps, frameEvery: 1000 }, lecture: { filters: { steps }, classes: { steps }, frameEvery: 1000 } },
  });
  const kind = layer ? 'filter' : 'class';
  const settings = method.settings(config, kind, { size: [size, size], capped: true });
  const indices = Array.from({ length: batch }, (_, i) => (layer ? i * 7 : i * 100 + 1));
  const objective = method.objective(settings, { kind, node: layer ?? logitNode, indices, isLogit: true });
  const units = indices.map((i) => ({ key: `${id}/${kind}/${i}`, seed: 1000 + i }));
  const wall: number[] = [];
  const cpu: number[] = [];
  const onStep = () => {
    wall.push(performance.now());
    cpu.push(cpuMs());
  };
  await renderBatch(method.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] }, onStep });
  const diffs = (v: number[]) => v.slice(1).map((t, i) => t - v[i]!);
  return { cpu: diffs(cpu), wall: diffs(wall) };
}

/** One row per target: `layers` (filters) and, with `undefined`, the class logits. */
export async function lucidStepRows(o: {
  graph: LeanGraph;
  logitNode: string;
  backend: string;
  model: string;
  targets: (string | undefined)[];
  size: number;
  batch: number;
  rounds: number;
  steps: number;
}): Promise<LucidStepRow[]> {
  const rows: LucidStepRow[] = [];
  for (const layer of o.targets) {
    const cpu: Record<string, number[]> = { lucid: [], lecture: [] };
    const wall: Record<string, number[]> = { lucid: [], lecture: [] };
    for (let r = 0; r < o.rounds; r++)
      for (const id of ['lecture', 'lucid']) {
        const t = await stepTimes(o.graph, o.logitNode, id, layer, o.size, o.batch, o.steps);
        cpu[id]!.push(...t.cpu);
        wall[id]!.push(...t.wall);
      }
    const lucid = median(cpu.lucid!) / o.batch;
    const lecture = median(cpu.lecture!) / o.batch;
    const lucidWall = median(wall.lucid!) / o.batch;
    const lectureWall = median(wall.lecture!) / o.batch;
    rows.push({
      kind: 'lucid-step',
      backend: o.backend,
      model: o.model,
      layer: layer ?? 'class logits',
      size: o.size,
      batch: o.batch,
      lucidMsPerUnitStep: round(lucid),
      lectureMsPerUnitStep: round(lecture),
      ratio: round(lucid / lecture),
      lucidWallMsPerUnitStep: round(lucidWall),
      lectureWallMsPerUnitStep: round(lectureWall),
      wallRatio: round(lucidWall / lectureWall),
      steps: cpu.lucid!.length,
    });
  }
  return rows;
}
