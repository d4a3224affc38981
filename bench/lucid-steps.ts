/**
 * Issue 15's measure: a lucid unit-step beside a lecture unit-step at the same model, target, size
 * and batch, each method with its own default settings and objective for the target, through the
 * render loop itself (`renderBatch`, so everything a real step does counts: parameterization,
 * transforms, engine, optimizer, the value read back). The two methods run interleaved, `rounds`
 * times each, and every step's wall time is taken from the loop's `onStep`; the row gives the
 * medians (the first step of every run, which also records the first frame, is left out).
 */
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { Method, MethodSettings } from '../pipeline/render/method.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';

export interface LucidStepRow {
  kind: 'lucid-step';
  backend: string;
  model: string;
  /** The filter layer, or 'class logits'. */
  layer: string;
  size: number;
  batch: number;
  lucidMsPerUnitStep: number;
  lectureMsPerUnitStep: number;
  /** lucid ÷ lecture. */
  ratio: number;
  /** Timed steps per method (rounds × (steps − 1)). */
  steps: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const round = (v: number) => Number(v.toPrecision(4));

/** Wall times of steps 1..steps−1 of one batch of `method`. */
async function stepTimes(graph: LeanGraph, logitNode: string, id: string, layer: string | undefined, size: number, batch: number, steps: number): Promise<number[]> {
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
  const marks: number[] = [];
  await renderBatch(method.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] }, onStep: () => marks.push(performance.now()) });
  return marks.slice(1).map((t, i) => t - marks[i]!);
}

/** One row per target: `layers` (filters) and, with `undefined`, the class logits. */
export async function lucidStepRows(o: { graph: LeanGraph; logitNode: string; backend: string; model: string; targets: (string | undefined)[]; size: number; batch: number; rounds: number; steps: number }): Promise<LucidStepRow[]> {
  const rows: LucidStepRow[] = [];
  for (const layer of o.targets) {
    const times: Record<string, number[]> = { lucid: [], lecture: [] };
    for (let r = 0; r < o.rounds; r++) for (const id of ['lecture', 'lucid']) times[id]!.push(...(await stepTimes(o.graph, o.logitNode, id, layer, o.size, o.batch, o.steps)));
    const lucid = median(times.lucid!) / o.batch;
    const lecture = median(times.lecture!) / o.batch;
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
      steps: times.lucid!.length,
    });
  }
  return rows;
}
