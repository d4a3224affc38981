/**
 * One batch, rendered and measured: the unit of work a run hands out, in this process (one
 * worker) or in a worker process (`workers.ts`). Everything it returns is plain data (RGB bytes,
 * curves, quality numbers), so it crosses a process boundary unchanged and the parent alone writes.
 */
import type { GradientEngine } from '../engine/engine.ts';
import { unitKey } from '../output/paths.ts';
import type { EncodedUnit } from '../output/writer.ts';
import { renderBatchChained } from '../render/chain-loop.ts';
import type { UnitResult } from '../render/method.ts';
import { METHODS } from '../render/methods/index.ts';
import { classQuality, filterQualityRecords, type UnitQuality } from '../render/quality.ts';
import type { AtlasContext, StartPhoto } from './prepare.ts';
import type { TodoUnit } from './reuse.ts';

export interface BatchOutput {
  results: UnitResult[];
  /** Per unit; undefined where it failed or when the numbers could not be measured. */
  qualities: (UnitQuality | undefined)[];
  /** Wall-clock seconds of the render divided by the batch's size. */
  seconds: number;
  /** The units' files, when a worker encoded them (so that encoding scales with the workers); else the writer encodes. */
  encoded?: (EncodedUnit | undefined)[];
}

export interface BatchContext {
  ctx: AtlasContext;
  engine: GradientEngine;
  photos: Map<string, StartPhoto>;
  log: (line: string) => void;
}

/** A result for every unit of a batch that could not be rendered, with the reason. */
export function failedBatch(group: TodoUnit[], error: string): BatchOutput {
  const results = group.map((u) => ({ key: unitKey(u), image: new Uint8Array(), input: new Uint8Array(), width: 0, height: 0, frames: [], curve: [], error }));
  return { results, qualities: group.map(() => undefined), seconds: 0 };
}

/** Renders one batch with its method, then its quality numbers. A thrown render error fails every unit of the batch. */
export async function runBatch(b: BatchContext, group: TodoUnit[], onStep: () => void): Promise<BatchOutput> {
  const head = group[0]!;
  const method = METHODS[head.method]!;
  const { ctx } = b;
  const units = group.map((u) => ({ key: unitKey(u), seed: u.seed }));
  const t0 = performance.now();
  let results: UnitResult[];
  try {
    const target = { kind: head.kind, node: head.target, indices: group.map((u) => u.index), isLogit: ctx.scoreIsLogit };
    const objective = method.objective(head.settings, target);
    const photo = head.settings.photo ? b.photos.get(head.settings.photo)?.pixels : undefined;
    const plan = method.plan(head.settings, units, objective, photo);
    // On an onnx-* engine, in calls of K steps where the method's step compiles (else one step per call, the reason logged once).
    results = await renderBatchChained(plan, { engine: b.engine, pixels: ctx.pixels, onStep, ...(ctx.inputSize ? { inputSize: ctx.inputSize } : {}) }, { log: b.log });
  } catch (err) {
    return failedBatch(group, `rendering failed: ${(err as Error).message}`);
  }
  const seconds = (performance.now() - t0) / 1000 / group.length;
  const qualities = await qualityOf(ctx, group, results).catch((err: Error) => {
    // Quality numbers are extra: the images are still good.
    b.log(`note: no quality numbers for ${describe(group)}: ${err.message}`);
    return undefined;
  });
  return { results, qualities: qualities ?? group.map(() => undefined), seconds };
}

export function describe(group: TodoUnit[]): string {
  const head = group[0]!;
  return `${head.method} ${head.kind === 'filter' ? head.layer : 'classes'}: ${group.map((u) => u.index).join(', ')}`;
}

/**
 * Quality numbers of a rendered batch, measured on each unit's final optimized image (`input`):
 * classes, the model's top-k on it and on jittered/scaled copies; filters, where the target ranks
 * among the layer's channels (on the layer's output and, for a ReLU/ReLU6 layer, its pre-activation).
 * Failed units get none.
 */
async function qualityOf(ctx: AtlasContext, group: TodoUnit[], results: UnitResult[]): Promise<(UnitQuality | undefined)[] | undefined> {
  const ok = results.flatMap((r, i) => (r.error ? [] : [{ r, u: group[i]! }]));
  if (!ok.length) return undefined;
  const [h, w] = ctx.size;
  const inputs = ok.map((o) => o.r.input);
  const indices = ok.map((o) => o.u.index);
  const found: UnitQuality[] =
    group[0]!.kind === 'class'
      ? await classQuality(
          ctx.graph,
          ctx.pixels,
          ctx.outputNode,
          inputs,
          w,
          h,
          indices,
          ok.map((o) => o.u.seed),
        )
      : await filterQualityRecords({ graph: ctx.graph, pixels: ctx.pixels, layer: group[0]!.target, images: inputs, width: w, height: h, channels: indices, border: ctx.border });
  return results.map((r) => (r.error ? undefined : found.shift()));
}
