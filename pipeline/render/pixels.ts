/**
 * Pixel spaces. Every method optimizes images in a canonical space, RGB in [-1, 1] (grey = 0), so
 * step sizes mean the same for every model; `toModelInput` maps them to what the model expects.
 */
import * as tf from '@tensorflow/tfjs';

export interface PixelSpace {
  /** The value range of an input pixel, e.g. [-1, 1], [0, 1] or [0, 255]. */
  range: [number, number];
  /** Per-channel mean subtracted after scaling to `range` (caffe-style models). */
  mean?: [number, number, number];
  /** Per-channel divisor applied after the mean. */
  std?: [number, number, number];
}

export function toModelInput(x: tf.Tensor4D, space: PixelSpace): tf.Tensor4D {
  const [lo, hi] = space.range;
  let y: tf.Tensor = lo === -1 && hi === 1 ? x : x.add(1).mul((hi - lo) / 2).add(lo);
  if (space.mean) y = y.sub(tf.tensor1d(space.mean));
  if (space.std) y = y.div(tf.tensor1d(space.std));
  return y as tf.Tensor4D;
}
