/**
 * One forward pass per batch of photos over every configured layer and the class-score node at
 * once (`graph.run` with all targets: shared ancestors run once). Per layer and channel it keeps
 * what ranking and patches need, with the border ignored exactly as the filter objective ignores
 * it (`channelMeans`):
 *
 *   [output mean, pre-activation mean, pre-activation max, position of that max]
 *
 * The pre-activation is the channel before the layer's ReLU/ReLU6 (the layer's output where it has
 * none); the output's max is the clipped pre-activation max at the same position, so one max serves
 * both. Classes keep the score node's whole output (logits), which also gives the top-1 prediction.
 */
import * as tf from '@tensorflow/tfjs';
import type { LeanGraph } from '../engine/graph.ts';
import { channelMeans } from '../render/objectives.ts';
import { fromByteImages, toModelInput, type PixelSpace } from '../render/pixels.ts';

/** Numbers kept per channel (see the module comment). */
export const STATS_PER_CHANNEL = 4;
export const OUT_MEAN = 0;
export const PRE_MEAN = 1;
export const PRE_MAX = 2;
export const ARGMAX = 3;

/** What one forward pass reads: the filter layers and, when classes are configured, the score node. */
export interface ActivationPlan {
  layers: string[];
  scoreNode?: string;
  border: number;
}

/** Per photo: one Float32Array per layer (channels × STATS_PER_CHANNEL) and the score node's output. */
export interface PhotoStats {
  layers: Map<string, Float32Array>;
  scores?: Float32Array;
}

/** A layer's pre-activation and its ReLU cap from the batch's run (the output itself where it has no ReLU). */
function preAndCap(graph: LeanGraph, layer: string, values: Map<string, tf.Tensor>): { pre: tf.Tensor4D; cap?: number } {
  const node = graph.nodes.find((n) => n.name === layer)!;
  if (!node.relu) return { pre: values.get(layer) as tf.Tensor4D };
  return { pre: node.relu.pre(node.inputs.map((i) => values.get(i)!)) as tf.Tensor4D, cap: node.relu.cap };
}

/** [B, C, 4] stats of one layer's pre-activation (see the module comment). Inside tidy. */
function layerStats(pre: tf.Tensor4D, cap: number | undefined, border: number): tf.Tensor3D {
  const [b, h, w, c] = pre.shape;
  const out = cap === undefined ? pre : (tf.clipByValue(pre, 0, cap) as tf.Tensor4D);
  // The same inner region channelMeans averages over, for the max as well.
  const cut = h > 2 * border && w > 2 * border ? border : 0;
  const inner = pre.slice([0, cut, cut, 0], [b, h - 2 * cut, w - 2 * cut, c]);
  const iw = w - 2 * cut;
  const flat = inner.reshape([b, -1, c]);
  const at = tf.argMax(flat, 1); // [B, C] index into the inner region
  // Back to a position of the whole map: row-major index (cut + r)·w + (cut + c).
  const row = tf.floorDiv(at, iw).add(cut);
  const col = tf.mod(at, iw).add(cut);
  const position = row.mul(w).add(col).toFloat();
  return tf.stack([channelMeans(out, border), channelMeans(pre, border), tf.max(flat, 1), position], 2) as tf.Tensor3D;
}

/** The targets of one pass: each layer's ReLU input (or the layer), and the score node. */
export function passTargets(graph: LeanGraph, plan: ActivationPlan): string[] {
  const targets = new Set<string>();
  for (const layer of plan.layers) {
    const node = graph.nodes.find((n) => n.name === layer);
    if (!node) throw new Error(`no layer named "${layer}"`);
    for (const t of node.relu ? node.inputs : [layer]) targets.add(t);
  }
  if (plan.scoreNode) targets.add(plan.scoreNode);
  return [...targets];
}

/**
 * Forward pass over a batch of model-size RGB photos ([h, w] each, bytes) → stats per photo.
 * Canonical pixels ([-1, 1]) are mapped by `toModelInput`, as for the optimized images.
 */
export async function photoStats(graph: LeanGraph, pixels: PixelSpace, plan: ActivationPlan, photos: Uint8Array[], size: [number, number]): Promise<PhotoStats[]> {
  const targets = passTargets(graph, plan);
  const [stats, scores] = tf.tidy(() => {
    const batch = fromByteImages(photos, size[1], size[0]);
    const ran = graph.run(toModelInput(batch, pixels), targets);
    const values = new Map(targets.map((t, i) => [t, ran[i]!]));
    const perLayer = plan.layers.map((layer) => {
      const { pre, cap } = preAndCap(graph, layer, values);
      return layerStats(pre, cap, plan.border);
    });
    const score = plan.scoreNode ? values.get(plan.scoreNode)!.reshape([photos.length, -1]) : undefined;
    return [perLayer, score] as const;
  });
  try {
    const layerData = await Promise.all(stats.map((t) => t.data() as Promise<Float32Array>));
    const scoreData = scores ? ((await scores.data()) as Float32Array) : undefined;
    const perPhoto = scores ? scores.shape[1]! : 0;
    return photos.map((_, b) => ({
      layers: new Map(plan.layers.map((layer, l) => [layer, slicePhoto(layerData[l]!, photos.length, b)])),
      ...(scoreData ? { scores: scoreData.slice(b * perPhoto, (b + 1) * perPhoto) } : {}),
    }));
  } finally {
    stats.forEach((t) => t.dispose());
    scores?.dispose();
  }
}

function slicePhoto(data: Float32Array, batch: number, b: number): Float32Array {
  const per = data.length / batch;
  return data.slice(b * per, (b + 1) * per);
}
