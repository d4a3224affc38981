/**
 * Batch size per target layer: the largest useful batch within a memory budget, chosen by a short
 * probe (B = 1 vs larger B, a couple of gradient steps each) for the best unit-steps per second.
 * On a CPU backend a bigger batch rarely pays; on a GPU it usually does. The probe decides, on the
 * engine that renders (ONNX Runtime for onnx-*), within the device's memory: half the GPU's free
 * memory where nvidia-smi tells it, and a batch whose probe runs out of memory is not taken.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { GPU_BACKENDS, type BackendName } from './backend.ts';
import type { GradientEngine, Objective } from './engine.ts';
import type { LeanGraph } from './graph.ts';
import { batches, type PlannedUnit } from '../plan.ts';

export interface BatchProbe {
  batch: number;
  msPerStep: number;
  unitStepsPerSec: number;
}

export interface BatchChoice {
  batch: number;
  probes: BatchProbe[];
  /** Why the candidates stop where they do (memory, units). */
  limit: string;
}

/** Bytes one image needs per gradient step up to `target`: every activation on the path, ×3 (value, gradient, masks). */
export function bytesPerUnit(graph: LeanGraph, target: string, size: [number, number]): number {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  const stack = [target];
  let floats = 0;
  const scale = (size[0] * size[1]) / (graph.inputShape[0] * graph.inputShape[1]);
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const node = byName.get(name);
    if (!node) continue;
    const count = node.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1);
    floats += node.outputShape.length === 3 ? count * scale : count;
    stack.push(...node.inputs);
  }
  return floats * 4 * 3;
}

/** Default budget: a quarter of free memory, at most 4 GiB. */
export function defaultBudget(): number {
  return Math.min(os.freemem() / 4, 4 * 2 ** 30);
}

/** Free memory of the first visible NVIDIA GPU (nvidia-smi; CUDA_VISIBLE_DEVICES's first), or undefined where none answers. */
export function nvidiaFreeBytes(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const first = env.CUDA_VISIBLE_DEVICES?.split(',')[0]?.trim();
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.free', '--format=csv,noheader,nounits', ...(first ? ['-i', first] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    const mib = Number(out.trim().split('\n')[0]);
    return Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory `batch: auto` may fill on a backend: on a GPU backend half the GPU's free memory
 * (the rest for the runtime's workspaces and arenas), where the driver says it; otherwise (CPU
 * backends, GPUs without nvidia-smi) `defaultBudget`.
 */
export function memoryBudget(backend: BackendName, gpuFree: () => number | undefined = nvidiaFreeBytes): number {
  const free = GPU_BACKENDS.has(backend) ? gpuFree() : undefined;
  return free ? free / 2 : defaultBudget();
}

/** An error of a step that did not get its memory: ORT's arena or CUDA, Dawn, TF.js's buffers, wasm's heap. */
export function isOutOfMemory(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /out of memory|\bOOM\b|fail(ed)? to allocate|allocat(e|ion) fail|memory.*(exceeded|exhausted)|buffer size|max(imum)? ?buffer/i.test(text);
}

/**
 * The batch sizes `auto` probes on a backend. A CPU gains little past 8; a GPU is latency-bound
 * there (measured on an H200 through WebGPU, MobileNet v1 0.75 at 224 px: 418 unit-steps/s at
 * batch 8, 2 234 at 64), so GPU backends probe up to 64, within the memory budget.
 */
export function batchCandidates(backend: BackendName): number[] {
  return GPU_BACKENDS.has(backend) ? [1, 2, 4, 8, 16, 32, 64] : [1, 2, 4, 8];
}

export interface PickOptions {
  candidates?: number[];
  /** Units that will run at this layer: no point probing a batch larger than that. */
  units?: number;
  budgetBytes?: number;
  /** Timed steps per candidate (after one warm-up step). */
  steps?: number;
  /** A larger batch must beat the best smaller one by this factor (noise margin). */
  margin?: number;
}

/**
 * Picks the batch size from a timing function `time(B) → ms per step` (the probe) and the memory
 * each unit needs. Pure apart from calling `time`.
 */
export async function chooseBatch(time: (batch: number) => Promise<number>, perUnitBytes: number, options: PickOptions = {}): Promise<BatchChoice> {
  const budget = options.budgetBytes ?? defaultBudget();
  const fitting = Math.max(1, Math.floor(budget / Math.max(perUnitBytes, 1)));
  const maxUnits = options.units ?? Infinity;
  const all = options.candidates ?? [1, 2, 4, 8];
  const candidates = all.filter((b) => b === 1 || (b <= fitting && b <= maxUnits));
  const limit = `${fitting} fit in ${(budget / 2 ** 20).toFixed(0)} MiB; ${Number.isFinite(maxUnits) ? maxUnits : 'any'} units`;
  if (candidates.length === 1) return { batch: 1, probes: [], limit };
  const margin = options.margin ?? 1.05;
  const probes: BatchProbe[] = [];
  let best: BatchProbe | undefined;
  let stopped = '';
  for (const batch of candidates) {
    let ms: number;
    try {
      ms = await time(batch);
    } catch (err) {
      // The estimate let a batch through that the device could not hold: it and larger ones are out.
      if (batch === 1 || !isOutOfMemory(err)) throw err;
      stopped = `; B=${batch} ran out of memory (${(err as Error).message.split('\n')[0]!.slice(0, 160)})`;
      break;
    }
    const probe = { batch, msPerStep: ms, unitStepsPerSec: (batch * 1000) / ms };
    probes.push(probe);
    if (!best || probe.unitStepsPerSec > best.unitStepsPerSec * margin) best = probe;
  }
  return { batch: best!.batch, probes, limit: limit + stopped };
}

/**
 * Median ms of `steps` gradient steps of the target's mean output at batch B on `engine` (after one
 * warm-up step): the engine the run renders with, so an ONNX run probes ONNX Runtime, not TF.js.
 */
export function engineStepTimer(engine: GradientEngine, target: string, size: [number, number], channels: number, steps = 2): (batch: number) => Promise<number> {
  const objective: Objective = { read: { node: target, pre: false, redirect: false }, head: (f) => tf.mean(f.reshape([f.shape[0]!, -1]), 1) as tf.Tensor1D, linear: true };
  return async (batch) => {
    const x = tf.randomUniform([batch, size[0], size[1], channels], -0.1, 0.1) as tf.Tensor4D;
    const times: number[] = [];
    try {
      for (let i = 0; i <= steps; i++) {
        const t0 = performance.now();
        const { value, grad } = await engine.valueAndGrad(objective, x);
        await grad.data();
        tf.dispose([value, grad]);
        if (i > 0) times.push(performance.now() - t0);
      }
    } finally {
      x.dispose();
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  };
}

/** Picks the batch for one target layer, timed on `engine`. */
export async function pickBatchSize(engine: GradientEngine, graph: LeanGraph, target: string, size: [number, number], options: PickOptions = {}): Promise<BatchChoice> {
  return chooseBatch(engineStepTimer(engine, target, size, graph.inputShape[2], options.steps), bytesPerUnit(graph, target, size), options);
}

/**
 * Forms batches like plan's `batches` (consecutive units of one method, kind and target), with the
 * size fixed (`setting` a number) or picked per target by `pickBatchSize` (`'auto'`). With `lanes`
 * workers, an auto batch holds at most a worker's share of a target's units, so that none idles.
 */
export async function formBatches<T extends Pick<PlannedUnit, 'method' | 'kind' | 'target'>>(
  units: T[],
  setting: number | 'auto',
  probe: { engine: GradientEngine; graph: LeanGraph; size: [number, number]; candidates?: number[]; budgetBytes?: number },
  log?: (line: string) => void,
  lanes = 1,
): Promise<T[][]> {
  if (typeof setting === 'number') return batches(units, setting);
  const counts = new Map<string, number>();
  for (const u of units) counts.set(u.target, (counts.get(u.target) ?? 0) + 1);
  const perTarget = new Map<string, number>();
  for (const [target, count] of counts) {
    const choice = await pickBatchSize(probe.engine, probe.graph, target, probe.size, {
      units: Math.ceil(count / lanes),
      ...(probe.candidates ? { candidates: probe.candidates } : {}),
      ...(probe.budgetBytes ? { budgetBytes: probe.budgetBytes } : {}),
    });
    perTarget.set(target, choice.batch);
    const probes = choice.probes.map((p) => `B=${p.batch} ${p.unitStepsPerSec.toFixed(1)}/s`).join(', ');
    log?.(`batch ${target}: ${choice.batch}${probes ? ` (unit-steps/s: ${probes}; ${choice.limit})` : ''}`);
  }
  return batches(units, (target) => perTarget.get(target)!);
}
