/**
 * Classifies rendered images with the model that made them (quality numbers for class units).
 */
import * as tf from '@tensorflow/tfjs';
import type { LeanGraph } from '../engine/graph.ts';
import { toModelInput, type PixelSpace } from './pixels.ts';

/** RGB byte images (one size) → the model's top-k class ids per image, best first. */
export async function topK(graph: LeanGraph, pixels: PixelSpace, outputNode: string, images: Uint8Array[], width: number, height: number, k = 5): Promise<number[][]> {
  const [h, w] = graph.inputShape;
  const idx = tf.tidy(() => {
    const batch = tf.stack(images.map((rgb) => tf.tensor3d(rgb, [height, width, 3], 'int32'))).toFloat().div(127.5).sub(1) as tf.Tensor4D;
    const resized = height === h && width === w ? batch : tf.image.resizeBilinear(batch, [h, w], true);
    const [out] = graph.run(toModelInput(resized, pixels), [outputNode]);
    return tf.topk(out!.reshape([images.length, -1]), k).indices;
  });
  const data = await idx.array();
  idx.dispose();
  return data as number[][];
}
