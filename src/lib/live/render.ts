/**
 * A live render in the browser with the pipeline's own code: the lean graph read back from the
 * atlas's live files (`output/live-graph.ts` → `engine/graph.ts`), the TF.js engine, the method's
 * objective and plan (`render/methods/`), the one render loop (`render/loop.ts`) and the quality
 * numbers a unit page shows (`run/batch.ts` `unitQualities`). Nothing here is specific to a page.
 */
import * as tf from '@tensorflow/tfjs';
import { leanGraphOf, type LeanGraph } from '../../../pipeline/engine/graph.ts';
import { tfjsEngine } from '../../../pipeline/engine/tfjs-engine.ts';
import { decodeLiveGraph, type LiveGraphJson } from '../../../pipeline/output/live-graph.ts';
import type { UnitSettings } from '../../../pipeline/output/manifest.ts';
import { renderBatch } from '../../../pipeline/render/loop.ts';
import type { RenderObserver, UnitResult } from '../../../pipeline/render/method.ts';
import { METHODS } from '../../../pipeline/render/methods/index.ts';
import type { UnitQuality } from '../../../pipeline/render/quality.ts';
import { unitQualities } from '../../../pipeline/run/batch.ts';
import type { LiveTarget } from './query.ts';

export interface LiveModel {
  graph: LeanGraph;
  json: LiveGraphJson;
}

/** Fetches the graph's JSON, then its weight shards in parallel; `onProgress` gets bytes loaded and in all. */
export async function loadLiveModel(graphUrl: string, onProgress?: (loaded: number, total: number) => void): Promise<LiveModel> {
  const res = await fetch(graphUrl);
  if (!res.ok) throw new Error(`${graphUrl}: HTTP ${res.status}`);
  const json = (await res.json()) as LiveGraphJson;
  const total = json.shards.reduce((a, s) => a + s.bytes, 0);
  let loaded = 0;
  const shards = await Promise.all(
    json.shards.map(async (s) => {
      const url = new URL(s.file, new URL(graphUrl, location.href)).toString();
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      const buf = await r.arrayBuffer();
      loaded += buf.byteLength;
      onProgress?.(loaded, total);
      return buf;
    }),
  );
  return { graph: leanGraphOf(decodeLiveGraph(json, shards)), json };
}

/** Whether a filter target's layer caps its output (ReLU6 or a clip): its settings read the pre-activation when the atlas's do. */
export function capsOutput(graph: LeanGraph, layer: string): boolean {
  return Number.isFinite(graph.nodes.find((n) => n.name === layer)?.relu?.cap ?? Infinity);
}

export interface LiveRun {
  model: LiveModel;
  target: LiveTarget;
  method: string;
  settings: UnitSettings;
  seed: number;
  key: string;
  /** Class objectives read this node (the manifest's `model.scoreLayer`). */
  scoreLayer: string;
  /** A start photo's canonical pixels ([h, w, 3] row-major), when the settings name one. */
  photo?: Float32Array;
  observer: RenderObserver;
  signal: AbortSignal;
  onStep?: (step: number) => Promise<void>;
}

export interface LiveResult {
  result: UnitResult;
  quality?: UnitQuality;
  /** Why there are no quality numbers, when there are none. */
  qualityError?: string;
}

/** Renders one unit as the pipeline would (every frame recorded: the page shows each step) and measures it. */
export async function renderLive(r: LiveRun): Promise<LiveResult> {
  const { graph, json } = r.model;
  const method = METHODS[r.method];
  if (!method) throw new Error(`unknown method "${r.method}"`);
  const index = r.target.kind === 'filter' ? r.target.filter : r.target.id;
  const node = r.target.kind === 'filter' ? r.target.layer : r.scoreLayer;
  const objective = method.objective(r.settings, { kind: r.target.kind, node, indices: [index], isLogit: graph.logitNode !== undefined });
  const plan = { ...method.plan(r.settings, [{ key: r.key, seed: r.seed }], objective, r.photo), frameEvery: 1 };
  const engine = tfjsEngine(graph);
  const [result] = await renderBatch(plan, {
    engine,
    pixels: json.pixels,
    observer: r.observer,
    signal: r.signal,
    ...(r.onStep ? { onStep: r.onStep } : {}),
    ...(json.inputSize ? { inputSize: json.inputSize } : {}),
  });
  engine.dispose();
  if (!result || result.error) return { result: result!, qualityError: result?.error ?? 'no result' };
  try {
    const outputNode = graph.nodes[graph.nodes.length - 1]!.name;
    const [quality] = await unitQualities({ graph, pixels: json.pixels, outputNode, border: r.settings.border, size: r.settings.size }, { kind: r.target.kind, layer: node }, [
      { index, seed: r.seed, input: result.input },
    ]);
    return { result, ...(quality ? { quality } : {}) };
  } catch (e) {
    return { result, qualityError: (e as Error).message };
  }
}

/** Tensors alive now (the page checks that a render leaves none behind beyond the model's). */
export const liveTensors = (): number => tf.memory().numTensors;
