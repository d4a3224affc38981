/**
 * The lean graph as static files, for the live page: one small JSON of nodes (their `LeanOp`s with
 * every weight replaced by its place in one float32 buffer) and that buffer cut into shards under a
 * size limit (GitHub Pages takes 100 MB per file). Pure: the pipeline encodes (`output/live-files.ts`
 * writes), the browser decodes (`src/lib/live/`), both through this module, so both run the same
 * graph: `engine/graph.ts` `leanGraphOf(decodeLiveGraph(...))`.
 */
import type { LeanNode, LoweredGraph } from '../engine/lower.ts';
import type { Weight } from '../engine/ops.ts';
import type { PixelSpace } from '../render/pixels.ts';

/** Bumped when the file layout or the lowering that produced the nodes changes: older files are rewritten. */
export const LIVE_FORMAT = 'filter-atlas-live/1';
/** The graph's JSON, beside its shards in `paths.liveDir(model)`. */
export const LIVE_GRAPH_FILE = 'graph.json';
/** Largest shard: well under GitHub Pages' 100 MB per file, and small enough to fetch in parallel. */
export const LIVE_SHARD_BYTES = 32 * 1024 * 1024;

/** A weight in the JSON: its shape and where its values start in the float buffer (in floats). */
interface WeightRef {
  shape: number[];
  at: number;
}

export interface LiveShard {
  file: string;
  bytes: number;
}

export interface LiveGraphJson {
  format: typeof LIVE_FORMAT;
  /** The model weights' hash (manifest `model.weightsHash`): the files are reused while it is unchanged. */
  weightsHash: string;
  inputName: string;
  inputShape: [number, number, number];
  outputName: string;
  logitNode?: string;
  /** The model's pixel space (the render loop's `toModelInput`), channel order and grey included. */
  pixels: PixelSpace;
  /** The only input size the model takes, when it flattens a feature map (`RenderContext.inputSize`). */
  inputSize?: [number, number];
  /** Lowered nodes; weights are `WeightRef`s, non-finite numbers `{"$num": "Infinity"}`. */
  nodes: unknown[];
  /** Floats in the buffer the shards make when concatenated in order. */
  floats: number;
  shards: LiveShard[];
}

const isWeight = (v: unknown): v is Weight => typeof v === 'object' && v !== null && (v as Weight).data instanceof Float32Array && Array.isArray((v as Weight).shape);
const isRef = (v: unknown): v is WeightRef => typeof v === 'object' && v !== null && typeof (v as WeightRef).at === 'number' && Array.isArray((v as WeightRef).shape) && Object.keys(v).length === 2;

/** A deep copy of `value` with every weight replaced by `ref(weight)` and non-finite numbers spelled out (JSON has no Infinity). */
function mapWeights(value: unknown, ref: (w: Weight) => WeightRef): unknown {
  if (isWeight(value)) return ref(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $num: String(value) };
  if (Array.isArray(value)) return value.map((v) => mapWeights(v, ref));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapWeights(v, ref)]));
  return value;
}

function unmapWeights(value: unknown, weight: (r: WeightRef) => Weight): unknown {
  if (isRef(value)) return weight(value);
  if (Array.isArray(value)) return value.map((v) => unmapWeights(v, weight));
  if (typeof value === 'object' && value !== null) {
    const num = (value as { $num?: string }).$num;
    if (typeof num === 'string' && Object.keys(value).length === 1) return Number(num);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmapWeights(v, weight)]));
  }
  return value;
}

/** Largest model the live page offers: beyond it a browser tab would hold the weights twice over a GiB (the build log says so). */
export const LIVE_MAX_BYTES = 512 * 1024 * 1024;

/** Bytes of the float buffer `encodeLiveGraph` would cut into shards (the media budget counts them). */
export function liveWeightBytes(nodes: readonly LeanNode[]): number {
  let floats = 0;
  mapWeights(nodes, (w) => {
    floats += w.data.length;
    return { shape: [], at: 0 };
  });
  return floats * 4;
}

/** Why a model is not offered live, or undefined when it is. */
export function liveUnavailableReason(bytes: number): string | undefined {
  return bytes > LIVE_MAX_BYTES ? `its weights take ${Math.round(bytes / 1024 ** 2)} MB, more than the ${LIVE_MAX_BYTES / 1024 ** 2} MB a browser tab is asked to load` : undefined;
}

/** `weights-0.bin`, `weights-1.bin`, … */
export const shardName = (i: number): string => `weights-${i}.bin`;

/** The graph's JSON and its shards (little-endian float32, as every browser and Node on x86/ARM stores them). */
export function encodeLiveGraph(
  graph: LoweredGraph,
  weightsHash: string,
  model: { pixels: PixelSpace; inputSize?: [number, number] },
  shardBytes = LIVE_SHARD_BYTES,
): { json: LiveGraphJson; shards: Uint8Array[] } {
  const weights: Float32Array[] = [];
  let floats = 0;
  const nodes = graph.nodes.map((n) =>
    mapWeights(n, (w) => {
      weights.push(w.data);
      floats += w.data.length;
      return { shape: [...w.shape], at: floats - w.data.length };
    }),
  );
  const all = new Float32Array(floats);
  let at = 0;
  for (const w of weights) {
    all.set(w, at);
    at += w.length;
  }
  const bytes = new Uint8Array(all.buffer);
  const size = Math.max(4, Math.floor(shardBytes / 4) * 4);
  const shards: Uint8Array[] = [];
  for (let start = 0; start < bytes.length || shards.length === 0; start += size) shards.push(bytes.subarray(start, Math.min(bytes.length, start + size)));
  const json: LiveGraphJson = {
    format: LIVE_FORMAT,
    weightsHash,
    inputName: graph.inputName,
    inputShape: graph.inputShape,
    outputName: graph.outputName,
    ...(graph.logitNode !== undefined ? { logitNode: graph.logitNode } : {}),
    pixels: model.pixels,
    ...(model.inputSize ? { inputSize: model.inputSize } : {}),
    nodes,
    floats,
    shards: shards.map((s, i) => ({ file: shardName(i), bytes: s.byteLength })),
  };
  return { json, shards };
}

/** The lowered graph back from its JSON and its shards' bytes (in the JSON's order); throws, naming the file, when they do not fit. */
export function decodeLiveGraph(json: LiveGraphJson, shards: ArrayBuffer[]): LoweredGraph {
  if (json.format !== LIVE_FORMAT) throw new Error(`${LIVE_GRAPH_FILE}: format "${String(json.format)}", expected "${LIVE_FORMAT}"`);
  if (shards.length !== json.shards.length) throw new Error(`${LIVE_GRAPH_FILE}: ${json.shards.length} weight files listed, ${shards.length} given`);
  json.shards.forEach((s, i) => {
    if (shards[i]!.byteLength !== s.bytes) throw new Error(`${s.file}: ${shards[i]!.byteLength} bytes, ${LIVE_GRAPH_FILE} lists ${s.bytes}`);
  });
  const all = new Float32Array(json.floats);
  const bytes = new Uint8Array(all.buffer);
  let at = 0;
  for (const s of shards) {
    bytes.set(new Uint8Array(s), at);
    at += s.byteLength;
  }
  if (at !== json.floats * 4) throw new Error(`${LIVE_GRAPH_FILE}: the weight files hold ${at} bytes, ${json.floats * 4} expected`);
  const nodes = json.nodes.map((n) => unmapWeights(n, (r) => ({ shape: r.shape, data: all.subarray(r.at, r.at + r.shape.reduce((a, b) => a * b, 1)) })) as LeanNode);
  return {
    inputName: json.inputName,
    inputShape: json.inputShape,
    nodes,
    outputName: json.outputName,
    ...(json.logitNode !== undefined ? { logitNode: json.logitNode } : {}),
  };
}
