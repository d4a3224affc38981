/**
 * Quality numbers of rendered images (stored in ManifestUnit.quality, summarized by `npm run quality`).
 *
 * Classes: the model's top-1 / top-5 on the final image, and how often the target stays top-1 /
 * in the top-5 over `copies` randomly shifted (±shift px, integer) and scaled copies (grey where the
 * copy leaves the image), seeded by the unit: an image that only works at one exact pixel alignment
 * (adversarial) loses its class under these small changes.
 *
 * Filters: where the target channel ranks among the layer's channels on the final image.
 */
import * as tf from '@tensorflow/tfjs';
import type { LeanGraph } from '../engine/graph.ts';
import { preActivation } from '../engine/tfjs-engine.ts';
import { channelMeans } from './objectives.ts';
import { fromByteImages, toModelInput, type PixelSpace } from './pixels.ts';
import { prng } from './seed.ts';
import { copyAffine, type Affine } from './affine.ts';
import { samplingMap, warp } from './sampling-map.ts';

export interface ClassQuality {
  /** Top-5 class ids on the final image, best first. */
  top5: number[];
  top1: number;
  top1IsTarget: boolean;
  top5HasTarget: boolean;
  /** Share of the jittered/scaled copies whose top-1 is the target. */
  jitterTop1Rate: number;
  /** Share of the copies whose top-5 holds the target. */
  jitterTop5Rate: number;
  copies: number;
}

export interface CopyOptions {
  copies: number;
  /** Maximum shift, pixels (uniform integer in [-shift, shift] per axis). */
  shift: number;
  scale: [number, number];
}

export const QUALITY_COPIES: CopyOptions = { copies: 16, shift: 8, scale: [0.9, 1.1] };

/** QUALITY_COPIES for an image of `size`: the ±8-px shift is for 224 px and scales with the shorter side (at least 1 px). */
export function qualityCopies(size: [number, number]): CopyOptions {
  return { ...QUALITY_COPIES, shift: Math.max(1, Math.round((QUALITY_COPIES.shift * Math.min(...size)) / 224)) };
}

/** The copies' transforms of one image, drawn from its seed. */
export function copyTransforms(seed: number, size: [number, number], o: CopyOptions = QUALITY_COPIES): Affine[] {
  const rand = prng(seed ^ 0x51ed270b);
  return Array.from({ length: o.copies }, () => {
    const dy = Math.min(2 * o.shift, Math.floor(rand() * (2 * o.shift + 1))) - o.shift;
    const dx = Math.min(2 * o.shift, Math.floor(rand() * (2 * o.shift + 1))) - o.shift;
    const s = o.scale[0] + (o.scale[1] - o.scale[0]) * rand();
    return copyAffine(size, [dy, dx], s);
  });
}

/** Top-k class ids of canonical images (resized to the model's input when needed). */
async function topKOf(graph: LeanGraph, pixels: PixelSpace, outputNode: string, x: tf.Tensor4D, k: number): Promise<number[][]> {
  const [h, w] = graph.inputShape;
  const idx = tf.tidy(() => {
    const resized = x.shape[1] === h && x.shape[2] === w ? x : tf.image.resizeBilinear(x, [h, w], true);
    const [out] = graph.run(toModelInput(resized, pixels), [outputNode]);
    const flat = out!.reshape([x.shape[0], -1]);
    return tf.topk(flat, Math.min(k, flat.shape[1]!)).indices;
  });
  const data = (await idx.array()) as number[][];
  idx.dispose();
  return data;
}

/**
 * Class quality of each image (one per unit): `targets[i]` is its class, `seeds[i]` its unit seed.
 * Images of one call share a size. Evaluated one image (and its copies) at a time.
 */
export async function classQuality(
  graph: LeanGraph,
  pixels: PixelSpace,
  outputNode: string,
  images: Uint8Array[],
  width: number,
  height: number,
  targets: number[],
  seeds: number[],
  options: CopyOptions = qualityCopies([height, width]),
): Promise<ClassQuality[]> {
  const out: ClassQuality[] = [];
  for (let i = 0; i < images.length; i++) {
    const target = targets[i]!;
    const x = fromByteImages([images[i]!], width, height);
    const affines = copyTransforms(seeds[i]!, [height, width], options);
    const copies = tf.tidy(() => {
      const many = tf.tile(x, [affines.length, 1, 1, 1]) as tf.Tensor4D;
      return tf.concat([x, warp(many, samplingMap(affines, [height, width]), [height, width])]) as tf.Tensor4D;
    });
    x.dispose();
    const tops = await topKOf(graph, pixels, outputNode, copies, 5);
    copies.dispose();
    const [first, ...rest] = tops;
    out.push({
      top5: first!,
      top1: first![0]!,
      top1IsTarget: first![0] === target,
      top5HasTarget: first!.includes(target),
      jitterTop1Rate: rest.filter((t) => t[0] === target).length / rest.length,
      jitterTop5Rate: rest.filter((t) => t.includes(target)).length / rest.length,
      copies: rest.length,
    });
  }
  return out;
}

export interface FilterQuality {
  /** Rank of the target channel by mean activation: channels strictly above it (0 = a most activated channel of the layer). */
  rank: number;
  /** Other channels with exactly the target's mean (e.g. several ReLU6 channels saturated at 6 everywhere). */
  ties: number;
  /** The target's mean activation, z-scored across the layer's channels on this image. */
  z: number;
  /** The most activated channel. */
  top: number;
  /** Mean activation of every channel (border ignored), for normalizations across images. */
  means: number[];
}

/** Per-channel means of [B, h, w, C] activations, `border` pixels ignored per side (none on small maps), as rows. */
async function channelMeanRows(act: tf.Tensor4D, border: number): Promise<number[][]> {
  const means = tf.tidy(() => channelMeans(act, border));
  const rows = (await means.array()) as number[][];
  means.dispose();
  return rows;
}

/** Where channel `target` ranks in one image's channel means. */
function rankIn(row: number[], target: number): FilterQuality {
  const mu = row.reduce((a, b) => a + b, 0) / row.length;
  const sd = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / row.length) || 1;
  const v = row[target]!;
  let top = 0;
  for (let c = 1; c < row.length; c++) if (row[c]! > row[top]!) top = c;
  return { rank: row.filter((x) => x > v).length, ties: row.filter((x, c) => c !== target && x === v).length, z: (v - mu) / sd, top, means: row };
}

/**
 * Per image: the layer's channel means (border ignored like the channel objective) and the target's
 * rank and z-score; with `preActivation`, of the values before a ReLU/ReLU6 clip (no ties at the cap).
 */
/** Images of filter units of one layer: RGB bytes of one size, the target channel of each, the border. */
export interface FilterImages {
  graph: LeanGraph;
  pixels: PixelSpace;
  layer: string;
  images: Uint8Array[];
  width: number;
  height: number;
  channels: number[];
  border: number;
}

export async function filterQuality({ graph, pixels, layer, images, width, height, channels, border }: FilterImages, options: { preActivation?: boolean } = {}): Promise<FilterQuality[]> {
  const act = tf.tidy(() => {
    const x = toModelInput(fromByteImages(images, width, height), pixels);
    return (options.preActivation ? preActivation(graph, x, layer) : graph.run(x, [layer])[0]!) as tf.Tensor4D;
  });
  const rows = await channelMeanRows(act, border);
  act.dispose();
  return rows.map((row, i) => rankIn(row, channels[i]!));
}

/** What the manifest keeps of a filter's quality (not every channel's mean). */
export interface FilterRank {
  rank: number;
  ties: number;
  top: number;
  z: number;
  /** Channels of the layer. */
  channels: number;
}

/** A filter unit's quality numbers: on the layer's output and, for a ReLU/ReLU6 layer, its pre-activation. */
export interface FilterQualityRecord extends FilterRank {
  preActivation?: FilterRank;
}

export type UnitQuality = ClassQuality | FilterQualityRecord;

function filterRank(q: FilterQuality): FilterRank {
  return { rank: q.rank, ties: q.ties, top: q.top, z: Number(q.z.toFixed(4)), channels: q.means.length };
}

/**
 * A filter unit's manifest numbers (`filterQuality` on the layer's output and, for a ReLU/ReLU6
 * layer, on its pre-activation), from one forward pass: the output is the pre-activation clipped.
 */
export async function filterQualityRecords({ graph, pixels, layer, images, width, height, channels, border }: FilterImages): Promise<FilterQualityRecord[]> {
  const relu = graph.nodes.find((n) => n.name === layer)?.relu;
  const [out, pre] = tf.tidy(() => {
    const x = toModelInput(fromByteImages(images, width, height), pixels);
    if (!relu) return [graph.run(x, [layer])[0]! as tf.Tensor4D];
    const p = preActivation(graph, x, layer) as tf.Tensor4D;
    return [(Number.isFinite(relu.cap) ? tf.clipByValue(p, 0, relu.cap) : tf.relu(p)) as tf.Tensor4D, p];
  });
  const outRows = await channelMeanRows(out!, border);
  const preRows = pre ? await channelMeanRows(pre, border) : undefined;
  tf.dispose([out!, ...(pre ? [pre] : [])]);
  return outRows.map((row, i) => ({
    ...filterRank(rankIn(row, channels[i]!)),
    ...(preRows ? { preActivation: filterRank(rankIn(preRows[i]!, channels[i]!)) } : {}),
  }));
}
