/**
 * Writes the live page's model files at the end of a run: the lean graph's JSON and its weight
 * shards (`live-graph.ts`) under `<output>/<model-id>/live/`, each atomically, the JSON last, so a
 * reader never gets a JSON naming shards that are not there. Files whose JSON already records this
 * weights hash and format, with every shard at its listed size, are kept as they are. Shards left
 * over from a larger model are removed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { LoweredGraph } from '../engine/lower.ts';
import { writeFileAtomic } from './atomic.ts';
import { encodeLiveGraph, LIVE_FORMAT, LIVE_GRAPH_FILE, liveUnavailableReason, liveWeightBytes, type LiveGraphJson } from './live-graph.ts';
import type { LiveFiles } from './manifest.ts';
import { liveDir } from './paths.ts';
import type { PixelSpace } from '../render/pixels.ts';

type Available = Extract<LiveFiles, { graph: string }>;

/** The files as recorded in the manifest, when those on disk are complete for `weightsHash`. */
async function current(outDir: string, dir: string, weightsHash: string): Promise<Omit<Available, 'settings' | 'seed'> | undefined> {
  const graphFile = `${dir}/${LIVE_GRAPH_FILE}`;
  const json = (await fs
    .readFile(path.join(outDir, graphFile), 'utf8')
    .then((t) => JSON.parse(t) as LiveGraphJson)
    .catch(() => undefined)) as LiveGraphJson | undefined;
  if (!json || json.format !== LIVE_FORMAT || json.weightsHash !== weightsHash || !Array.isArray(json.shards)) return undefined;
  let bytes = (await fs.stat(path.join(outDir, graphFile))).size;
  for (const s of json.shards) {
    const size = (await fs.stat(path.join(outDir, dir, s.file)).catch(() => undefined))?.size;
    if (size !== s.bytes) return undefined;
    bytes += size;
  }
  return { graph: graphFile, files: [graphFile, ...json.shards.map((s) => `${dir}/${s.file}`)], bytes, weightsHash };
}

export interface LiveWrite {
  files: LiveFiles;
  /** What the run log says. */
  note: string;
}

/** Writes (or keeps) the live files of a model; `defaults`: the atlas seed and the methods' unit settings, for units nobody rendered. */
export async function writeLiveFiles(
  outDir: string,
  modelId: string,
  graph: LoweredGraph,
  weightsHash: string,
  model: { pixels: PixelSpace; inputSize?: [number, number] },
  defaults: Pick<Available, 'seed' | 'settings'>,
): Promise<LiveWrite> {
  const unavailable = liveUnavailableReason(liveWeightBytes(graph.nodes));
  const dir = liveDir(modelId);
  if (unavailable) {
    await fs.rm(path.join(outDir, dir), { recursive: true, force: true });
    return { files: { unavailable }, note: `live page: not offered for ${modelId}: ${unavailable}` };
  }
  const kept = await current(outDir, dir, weightsHash);
  if (kept) return { files: { ...kept, ...defaults }, note: `live page: model files kept (${dir}, ${(kept.bytes / 1024 ** 2).toFixed(1)} MB, weights unchanged)` };
  const { json, shards } = encodeLiveGraph(graph, weightsHash, model);
  const full = path.join(outDir, dir);
  await fs.mkdir(full, { recursive: true });
  for (const [i, s] of shards.entries()) await writeFileAtomic(path.join(full, json.shards[i]!.file), s);
  const text = JSON.stringify(json);
  await writeFileAtomic(path.join(full, LIVE_GRAPH_FILE), text);
  const listed = new Set([LIVE_GRAPH_FILE, ...json.shards.map((s) => s.file)]);
  for (const name of await fs.readdir(full)) if (!listed.has(name)) await fs.rm(path.join(full, name), { force: true });
  const bytes = Buffer.byteLength(text) + shards.reduce((a, s) => a + s.byteLength, 0);
  return {
    files: { graph: `${dir}/${LIVE_GRAPH_FILE}`, files: [...listed].map((f) => `${dir}/${f}`), bytes, weightsHash, ...defaults },
    note: `live page: model files written (${dir}: ${json.shards.length} weight file${json.shards.length === 1 ? '' : 's'}, ${(bytes / 1024 ** 2).toFixed(1)} MB)`,
  };
}
