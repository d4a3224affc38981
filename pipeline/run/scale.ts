/**
 * How a run spreads out: which units this shard renders (`shard.ts`), and how many worker
 * processes render its batches (`workers.ts`). Kept apart from run.ts, which only asks.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { BackendName } from '../engine/backend.ts';
import { unitKey } from '../output/paths.ts';
import type { PlannedUnit } from '../plan.ts';
import type { Progress } from '../progress.ts';
import { METHODS } from '../render/methods/index.ts';
import { configHash, shardUnits, stepCost, type Shard, type ShardInfo } from '../shard.ts';
import type { AtlasContext } from './prepare.ts';
import type { BatchRunner } from './render-all.ts';
import type { TodoUnit } from './reuse.ts';
import { CORE_BACKENDS, processPool, workerCount } from './workers.ts';
import { physicalCores } from '../engine/cores.ts';

export interface ShardSelection {
  /** This shard's units of the planned ones, in planned order. */
  units(all: PlannedUnit[]): PlannedUnit[];
  /** What the shard folder records about itself. */
  info(planned: PlannedUnit[], backend: string): ShardInfo;
}

/** A unit's cost: its method's steps × the estimated work of one step up to its target. */
export function unitCost(ctx: AtlasContext): (u: PlannedUnit) => number {
  const perTarget = new Map<string, number>();
  return (u) => {
    let step = perTarget.get(u.target);
    if (step === undefined) perTarget.set(u.target, (step = stepCost(ctx.graph, u.target, ctx.size)));
    return METHODS[u.method]!.settings(ctx.loaded.config, u.kind, { size: ctx.size, capped: false }).steps * step;
  };
}

export function shardSelection(ctx: AtlasContext, shard: Shard, progress: Progress): ShardSelection {
  return {
    units(all) {
      const cost = unitCost(ctx);
      const mine = shardUnits(all, cost, shard);
      const share =
        mine.reduce((a, u) => a + cost(u), 0) /
        Math.max(
          1,
          all.reduce((a, u) => a + cost(u), 0),
        );
      progress.log(`shard ${shard.index}/${shard.count} from ${shard.source}: ${mine.length} of ${all.length} units, ${(share * 100).toFixed(1)}% of the estimated work`);
      return mine;
    },
    info: (planned, backend) => ({
      index: shard.index,
      count: shard.count,
      source: shard.source,
      configHash: configHash(ctx.loaded.config),
      weightsHash: ctx.weightsHash,
      backend,
      units: planned.map(unitKey),
    }),
  };
}

/** The runner of this run's batches: this process for one worker, else a pool of worker processes. */
export function batchRunner(loaded: LoadedConfig, backend: BackendName, override: number | 'auto' | undefined, todo: TodoUnit[], progress: Progress, env: NodeJS.ProcessEnv): BatchRunner | undefined {
  const setting = override ?? loaded.config.render.workers;
  const n = Math.min(workerCount(setting, backend), todo.length);
  if (n <= 1) return undefined;
  progress.log(`workers: ${n} processes${setting === 'auto' ? ' (auto)' : ''}`);
  const threads = Math.max(1, Math.floor(physicalCores() / n));
  const init = { configFile: loaded.file, backend, configJson: JSON.stringify(loaded.config), env: { ...process.env, ...env }, threads };
  // On wasm and cpu a batch is no faster per unit than one image (docs/performance.md), and a probe
  // in this process would time a machine the workers are about to fill: each worker renders one unit at a time.
  return processPool(n, init, (line) => progress.log(line), CORE_BACKENDS.includes(backend) ? 1 : undefined);
}
