/**
 * Shards: a run renders one part of the planned units, chosen deterministically from (index, count)
 * and balanced by cost, into its own output folder; `merge.ts` puts the parts back together.
 * Where (index, count) come from, first found wins: --shard i/n; a Slurm array job; a Kubernetes
 * Indexed Job (JOB_COMPLETION_INDEX, with ATLAS_SHARD_COUNT = the Job's completions, which
 * Kubernetes does not export); ATLAS_SHARD_INDEX / ATLAS_SHARD_COUNT (set by the GitHub Actions
 * workflow from its matrix, or by hand).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AtlasConfig } from './config/schema.ts';
import type { LeanGraph } from './engine/graph.ts';
import { AtlasError } from './errors.ts';
import { writeFileAtomic } from './output/atomic.ts';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
  /** Where index and count came from, for the log. */
  source: string;
}

/** `i/n` with 0 ≤ i < n. */
export function parseShard(text: string, source = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new AtlasError(`${source}: "${text}" is not a shard; expected i/n with 0 ≤ i < n (0-based), e.g. 0/4 … 3/4`);
  }
  return { index, count, source };
}

const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined);

/** Slurm sets these in every task of `sbatch --array=MIN-MAX[:STEP]`; a task's shard is its position in the array. */
function slurmShard(env: NodeJS.ProcessEnv): Shard | undefined {
  const id = int(env.SLURM_ARRAY_TASK_ID);
  if (id === undefined) return undefined;
  const min = int(env.SLURM_ARRAY_TASK_MIN) ?? 0;
  const step = int(env.SLURM_ARRAY_TASK_STEP) ?? 1;
  const max = int(env.SLURM_ARRAY_TASK_MAX);
  const count = int(env.SLURM_ARRAY_TASK_COUNT) ?? (max === undefined ? undefined : (max - min) / step + 1);
  const vars = `SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_MAX=${max ?? '?'}, SLURM_ARRAY_TASK_COUNT=${count ?? '?'}`;
  const index = (id - min) / step;
  // A list like --array=1,5,9 has gaps: positions cannot be derived from the ids.
  if (count === undefined || max === undefined || (max - min) / step + 1 !== count) {
    throw new AtlasError(`Slurm array (${vars}): the array must be a range MIN-MAX[:STEP] (e.g. --array=0-63); or pass --shard i/n`);
  }
  return parseShard(`${index}/${count}`, `Slurm array (${vars})`);
}

export function shardFromEnv(env: NodeJS.ProcessEnv): Shard | undefined {
  const slurm = slurmShard(env);
  if (slurm) return slurm;
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined) {
    const source = `Kubernetes Indexed Job (JOB_COMPLETION_INDEX=${k8s}, ATLAS_SHARD_COUNT=${env.ATLAS_SHARD_COUNT ?? 'unset'})`;
    if (env.ATLAS_SHARD_COUNT === undefined) throw new AtlasError(`${source}: set ATLAS_SHARD_COUNT to the Job's spec.completions`);
    return parseShard(`${k8s}/${env.ATLAS_SHARD_COUNT}`, source);
  }
  if (env.ATLAS_SHARD_INDEX === undefined && env.ATLAS_SHARD_COUNT === undefined) return undefined;
  const where = env.GITHUB_ACTIONS === 'true' ? 'GitHub Actions matrix' : 'environment';
  return parseShard(`${env.ATLAS_SHARD_INDEX}/${env.ATLAS_SHARD_COUNT}`, `${where} (ATLAS_SHARD_INDEX=${env.ATLAS_SHARD_INDEX}, ATLAS_SHARD_COUNT=${env.ATLAS_SHARD_COUNT})`);
}

/** A shard's own folder beside the atlas's: `atlas-data` → `atlas-data.shard-2-of-8`. */
export function shardDir(outDir: string, shard: Shard): string {
  return `${outDir}.shard-${shard.index}-of-${shard.count}`;
}

/**
 * Relative cost of one gradient step of one image up to `target`: multiply-accumulates estimated
 * from the lean graph's output shapes, over every node up to the target in topological order (not
 * along `inputs`: the lean graph fuses a conv and its batch norm into the activation that follows,
 * whose inputs then skip them). A conv or dense node costs its outputs × its input channels (a 1×1
 * kernel: exact for MobileNet's pointwise convs, which hold almost all of its work; 3×3 convs count
 * 9× too little), a depthwise conv its outputs × 9, anything else its outputs. The backward pass
 * costs about twice the forward everywhere, so it does not change the ratios.
 */
export function stepCost(graph: LeanGraph, target: string, size: [number, number]): number {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const scale = (size[0] * size[1]) / (graph.inputShape[0] * graph.inputShape[1]);
  const end = graph.nodes.findIndex((n) => n.name === target);
  let macs = 0;
  for (const node of graph.nodes.slice(0, end + 1)) {
    const outputs = node.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1) * (node.outputShape.length === 3 ? scale : 1);
    const input = byName.get(node.inputs[0] ?? '');
    const inChannels = input?.outputShape[input.outputShape.length - 1] ?? graph.inputShape[2];
    const per = /^(Conv2D|Dense)$/.test(node.className) ? inChannels : /Depthwise/.test(node.className) ? 9 : 1;
    macs += outputs * per;
  }
  return macs;
}

/**
 * The units of shard `index` of `count`: consecutive runs of the planned order (so a shard's units
 * of one layer still form batches), cut where the running cost crosses each 1/count of the total.
 * A unit belongs to the shard its cost midpoint falls in: every unit in exactly one shard, each cut
 * within half a unit's cost of its ideal place (a shard within one unit's cost of an equal share).
 */
export function shardUnits<T>(units: T[], cost: (u: T) => number, shard: Pick<Shard, 'index' | 'count'>): T[] {
  const costs = units.map(cost);
  const total = costs.reduce((a, b) => a + b, 0);
  let before = 0;
  return units.filter((_, i) => {
    const mid = before + costs[i]! / 2;
    before += costs[i]!;
    const at = total > 0 ? Math.min(shard.count - 1, Math.floor((mid / total) * shard.count)) : i % shard.count;
    return at === shard.index;
  });
}

/** Hash of the config values that shape the atlas: not where it is written, nor how many processes or batches. */
export function configHash(config: AtlasConfig): string {
  const { output: _output, ...rest } = config;
  const { workers: _workers, batch: _batch, backend: _backend, ...render } = config.render;
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, render }))
    .digest('hex')
    .slice(0, 16);
}

export const SHARD_FILE = 'shard.json';

/** What a shard folder says about itself (`shard.json`): what merge checks before taking its units. */
export interface ShardInfo {
  index: number;
  count: number;
  source: string;
  configHash: string;
  weightsHash: string;
  backend: string;
  /** Keys of the units this shard renders. */
  units: string[];
}

export async function writeShardInfo(outDir: string, info: ShardInfo): Promise<void> {
  await writeFileAtomic(path.join(outDir, SHARD_FILE), JSON.stringify(info, null, 1));
}

export async function readShardInfo(dir: string): Promise<ShardInfo> {
  const file = path.join(dir, SHARD_FILE);
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new AtlasError(`${dir}: ${err.code === 'ENOENT' ? `no ${SHARD_FILE}: not the output folder of a sharded run (--shard i/n)` : err.message}`);
  });
  return JSON.parse(text) as ShardInfo;
}
