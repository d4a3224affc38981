/**
 * The render phase: batches of units handed out to lanes (one per worker; one lane, in this
 * process, with one worker), each batch rendered and measured (`batch.ts`) and handed to the
 * AtlasWriter. This process alone writes, so atomic writes, the lock and resume do not depend on
 * the number of workers. Per lane at most one batch is being written while the next renders; the
 * first Ctrl-C stops handing out batches and finishes the ones in flight.
 */
import { formBatches } from '../engine/batch-size.ts';
import type { AtlasWriter } from '../output/writer.ts';
import type { Progress } from '../progress.ts';
import { describe, runBatch, type BatchContext, type BatchOutput } from './batch.ts';
import type { TodoUnit } from './reuse.ts';

export interface RenderOutcome {
  interrupted: boolean;
  /** Optimization steps run. */
  steps: number;
}

/** Renders batches: `lanes` of them at once. */
export interface BatchRunner {
  lanes: number;
  /** What `render.batch: auto` means with this runner, when it is a fixed size rather than a probe. */
  autoBatch?: number;
  /** Renders one batch on lane `lane`; never throws (a failure fails the batch's units). */
  run(lane: number, group: TodoUnit[], onStep: () => void): Promise<BatchOutput>;
  close(): Promise<void>;
}

/** The runner of one worker: this process, with its own engine. */
export function inProcessRunner(b: BatchContext): BatchRunner {
  return { lanes: 1, run: (_lane, group, onStep) => runBatch(b, group, onStep), close: async () => {} };
}

export interface RenderAllOptions {
  batch: BatchContext;
  /** Where batches render; default: this process. */
  runner?: BatchRunner;
  todo: TodoUnit[];
  writer: AtlasWriter;
  progress: Progress;
  /** Units already done (reused), for progress. */
  done: number;
  total: number;
  signal?: AbortSignal;
  /** The batch sizes `batch: auto` probes (`batchCandidates` of the run's backend); default up to 8. */
  batchCandidates?: number[];
  /** The memory `batch: auto` may fill (`memoryBudget` of the run's backend); default `defaultBudget`. */
  batchBudgetBytes?: number;
}

export async function renderAll(o: RenderAllOptions): Promise<RenderOutcome> {
  const { progress, writer } = o;
  const { ctx } = o.batch;
  const runner = o.runner ?? inProcessRunner(o.batch);
  // The batch sizes are chosen here, before any worker renders, so a probe has the machine to itself.
  const setting = ctx.loaded.config.render.batch === 'auto' ? (runner.autoBatch ?? 'auto') : ctx.loaded.config.render.batch;
  const queue = await formBatches(
    o.todo,
    setting,
    { engine: o.batch.engine, graph: ctx.graph, size: ctx.size, ...(o.batchCandidates ? { candidates: o.batchCandidates } : {}), ...(o.batchBudgetBytes ? { budgetBytes: o.batchBudgetBytes } : {}) },
    (line) => progress.log(line),
    runner.lanes,
  );
  let steps = 0;
  let rendered = o.done;
  let interrupted = false;
  /** A lane's error (a worker that cannot start): the other lanes finish their batch and stop too. */
  let broken: { error: unknown } | undefined;
  /** Writes of rendered batches, oldest first: at most one per lane is written while the next renders. */
  const writing: Promise<unknown>[] = [];
  const lane = async (index: number) => {
    for (;;) {
      // With one lane, TF.js steps yield only to microtasks, so file writes progress only while the
      // loop waits here: finishing older batches' writes keeps finished units on disk and memory bounded.
      while (writing.length > runner.lanes) await writing.shift();
      // One turn of the event loop, so that a pending Ctrl-C is seen before the next batch starts.
      await new Promise((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) interrupted = true;
      const group = interrupted || broken ? undefined : queue.shift();
      if (!group) return;
      const onStep = () => {
        steps++;
        progress.tick(group.length);
      };
      const output = await runner.run(index, group, onStep).catch((error: unknown) => void (broken ??= { error }));
      if (!output) return;
      const { results, qualities, seconds, encoded } = output;
      // Under --force a unit may still be listed with its previous files: unlist it before they are replaced.
      await writer.unlist(group);
      writing.push(Promise.all(results.map((r, i) => writer.writeUnit(group[i]!, r, seconds, qualities[i], encoded?.[i]))));
      rendered += results.length;
      progress.batchDone(rendered, o.total, describe(group));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(runner.lanes, queue.length) }, (_, i) => lane(i)));
    if (broken) throw broken.error;
    return { interrupted: interrupted && queue.length > 0, steps };
  } finally {
    await Promise.all(writing);
    await runner.close();
  }
}
