/**
 * The pass over the photos: each file read and hashed once; a photo whose stats are cached for
 * every target is ranked from the cache, the others are decoded, centre-cropped to the model input
 * and run in batches (one forward pass per batch over all targets), cached, then ranked. Files
 * sharp cannot read are listed as skipped. Memory: one batch of photos plus the rankings.
 */
import type { LeanGraph } from '../engine/graph.ts';
import type { Progress } from '../progress.ts';
import type { PixelSpace } from '../render/pixels.ts';
import { photoStats, STATS_PER_CHANNEL, type ActivationPlan, type PhotoStats } from './activations.ts';
import type { DatasetCache } from './cache.ts';
import { decodePhoto, modelCrop, readPhoto, type PhotoFile } from './photos.ts';
import type { PhotoRef, Rankings } from './rank.ts';

/** Photos per forward pass (and per group of files read together). */
export const DATASET_BATCH = 8;

export interface PassContext {
  graph: LeanGraph;
  pixels: PixelSpace;
  size: [number, number];
  plan: ActivationPlan;
  cache: DatasetCache;
  rankings: Rankings;
  progress: Progress;
  signal?: AbortSignal;
}

export interface PassCounts {
  computed: number;
  cached: number;
  skipped: { file: string; reason: string }[];
  /** Stopped by the signal before every photo was ranked. */
  interrupted: boolean;
}

/** Values cached per layer (the stats of each channel) and for the score node (its whole output). */
function nodeShape(graph: LeanGraph, node: string): (number | null)[] {
  return graph.nodes.find((n) => n.name === node)!.outputShape;
}
const statsLength = (graph: LeanGraph, layer: string) => (nodeShape(graph, layer).at(-1) ?? 0) * STATS_PER_CHANNEL;
const scoresLength = (graph: LeanGraph, node: string) => nodeShape(graph, node).reduce<number>((a, b) => a * (b ?? 1), 1);
/** The score node's cache entry is named apart from a layer's of the same node. */
const scoresEntry = (node: string) => `${node}@scores`;

async function fromCache(c: PassContext, hash: string): Promise<PhotoStats | undefined> {
  const layers = new Map<string, Float32Array>();
  for (const layer of c.plan.layers) {
    const v = await c.cache.read(layer, hash, statsLength(c.graph, layer));
    if (!v) return undefined;
    layers.set(layer, v);
  }
  if (!c.plan.scoreNode) return { layers };
  const scores = await c.cache.read(scoresEntry(c.plan.scoreNode), hash, scoresLength(c.graph, c.plan.scoreNode));
  return scores ? { layers, scores } : undefined;
}

async function toCache(c: PassContext, hash: string, stats: PhotoStats): Promise<void> {
  for (const [layer, v] of stats.layers) await c.cache.write(layer, hash, v);
  if (stats.scores) await c.cache.write(scoresEntry(c.plan.scoreNode!), hash, stats.scores);
}

const reasonOf = (err: unknown) => ((err as Error).message ?? String(err)).split('\n')[0]!;

/** Reads a group of photos: ranks the cached ones, returns the decoded model crops of the others. */
async function readGroup(c: PassContext, group: PhotoFile[], counts: PassCounts): Promise<{ ref: PhotoRef; pixels: Uint8Array }[]> {
  const todo: { ref: PhotoRef; pixels: Uint8Array }[] = [];
  await Promise.all(
    group.map(async (photo) => {
      try {
        const { bytes, hash } = await readPhoto(photo);
        const ref = { source: photo.rel, hash };
        const cached = await fromCache(c, hash);
        if (cached) {
          counts.cached++;
          c.rankings.offer(ref, cached);
          return;
        }
        todo.push({ ref, pixels: await modelCrop(await decodePhoto(bytes), c.size) });
      } catch (err) {
        counts.skipped.push({ file: photo.rel, reason: reasonOf(err) });
      }
    }),
  );
  return todo;
}

/** Ranks every photo (from the cache where it can), `DATASET_BATCH` at a time. */
export async function rankPhotos(c: PassContext, photos: PhotoFile[]): Promise<PassCounts> {
  const counts: PassCounts = { computed: 0, cached: 0, skipped: [], interrupted: false };
  for (let i = 0; i < photos.length; i += DATASET_BATCH) {
    if (c.signal?.aborted) return { ...counts, interrupted: true };
    const todo = await readGroup(c, photos.slice(i, i + DATASET_BATCH), counts);
    if (todo.length) {
      const stats = await photoStats(
        c.graph,
        c.pixels,
        c.plan,
        todo.map((t) => t.pixels),
        c.size,
      );
      for (const [j, t] of todo.entries()) {
        await toCache(c, t.ref.hash, stats[j]!);
        c.rankings.offer(t.ref, stats[j]!);
      }
      counts.computed += todo.length;
    }
    const done = Math.min(i + DATASET_BATCH, photos.length);
    if (done % 400 < DATASET_BATCH && done < photos.length) c.progress.log(`dataset: ${done}/${photos.length} photos`);
  }
  counts.skipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  return counts;
}
