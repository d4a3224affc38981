/**
 * The render phase: batches of units, each rendered by its method's parts in the one render loop,
 * measured (quality numbers) and handed to the AtlasWriter. At most one batch is being written
 * while the next renders; the first Ctrl-C stops between batches, keeping everything finished.
 */
import type { GradientEngine } from '../engine/engine.ts';
import { formBatches } from '../engine/batch-size.ts';
import type { AtlasWriter } from '../output/writer.ts';
import { unitKey } from '../output/paths.ts';
import type { Progress } from '../progress.ts';
import { renderBatch } from '../render/loop.ts';
import type { UnitResult } from '../render/method.ts';
import { METHODS } from '../render/methods/index.ts';
import { classQuality, filterQualityRecords, type UnitQuality } from '../render/quality.ts';
import type { AtlasContext, StartPhoto } from './prepare.ts';
import type { TodoUnit } from './reuse.ts';

interface RenderOutcome {
  interrupted: boolean;
  /** Optimization steps run. */
  steps: number;
}

interface RenderAllOptions {
  ctx: AtlasContext;
  engine: GradientEngine;
  todo: TodoUnit[];
  writer: AtlasWriter;
  photos: Map<string, StartPhoto>;
  progress: Progress;
  /** Units already done (reused), for progress. */
  done: number;
  total: number;
  signal?: AbortSignal;
}

/** Renders one batch with its method; a thrown error fails every unit of the batch with the reason. */
async function renderGroup(o: RenderAllOptions, group: TodoUnit[], onStep: () => void): Promise<UnitResult[]> {
  const head = group[0]!;
  const method = METHODS[head.method]!;
  const { ctx } = o;
  const units = group.map((u) => ({ key: unitKey(u), seed: u.seed }));
  try {
    const target = { kind: head.kind, node: head.target, indices: group.map((u) => u.index), isLogit: ctx.scoreIsLogit };
    const objective = method.objective(head.settings, target);
    const photo = head.settings.photo ? o.photos.get(head.settings.photo)?.pixels : undefined;
    return await renderBatch(method.plan(head.settings, units, objective, photo), { engine: o.engine, pixels: ctx.pixels, onStep });
  } catch (err) {
    const error = `rendering failed: ${(err as Error).message}`;
    return units.map((u) => ({ key: u.key, image: new Uint8Array(), input: new Uint8Array(), width: 0, height: 0, frames: [], curve: [], error }));
  }
}

export async function renderAll(o: RenderAllOptions): Promise<RenderOutcome> {
  const { ctx, progress, writer } = o;
  const groups = await formBatches(o.todo, ctx.loaded.config.render.batch, ctx.graph, ctx.size, (line) => progress.log(line));
  let steps = 0;
  let rendered = o.done;
  /** Writes of each rendered batch, oldest first: at most one batch is written while the next renders. */
  const writing: Promise<unknown>[] = [];
  try {
    for (const group of groups) {
      // TF.js steps yield only to microtasks, so file writes progress only while the loop waits here:
      // finishing the previous batch's writes keeps finished units on disk and memory bounded.
      while (writing.length > 1) await writing.shift();
      // One turn of the event loop, so that a pending Ctrl-C is seen before the next batch starts.
      await new Promise((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) return { interrupted: true, steps };
      const t0 = performance.now();
      const results = await renderGroup(o, group, () => {
        steps++;
        progress.tick(group.length);
      });
      const seconds = (performance.now() - t0) / 1000 / group.length;
      const qualities = await qualityOf(ctx, group, results).catch((err: Error) => {
        // Quality numbers are extra: the images are still good.
        progress.log(`note: no quality numbers for ${describe(group)}: ${err.message}`);
        return undefined;
      });
      // Under --force a unit may still be listed with its previous files: unlist it before they are replaced.
      await writer.unlist(group);
      writing.push(Promise.all(results.map((r, i) => writer.writeUnit(group[i]!, r, seconds, qualities?.[i]))));
      rendered += results.length;
      progress.batchDone(rendered, o.total, describe(group));
    }
    return { interrupted: false, steps };
  } finally {
    await Promise.all(writing);
  }
}

function describe(group: TodoUnit[]): string {
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
      ? await classQuality(ctx.graph, ctx.pixels, ctx.outputNode, inputs, w, h, indices, ok.map((o) => o.u.seed))
      : await filterQualityRecords({ graph: ctx.graph, pixels: ctx.pixels, layer: group[0]!.target, images: inputs, width: w, height: h, channels: indices, border: ctx.border });
  return results.map((r) => (r.error ? undefined : found.shift()));
}
