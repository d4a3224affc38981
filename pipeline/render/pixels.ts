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
  /** The model takes BGR (caffe-style): channels are reversed before scaling. */
  channelOrder?: 'bgr';
  /** A one-channel (grayscale) model: it gets the mean of R, G and B (equal gradients keep the image grey). */
  channels?: 1;
}

export function toModelInput(x: tf.Tensor4D, space: PixelSpace): tf.Tensor4D {
  const [lo, hi] = space.range;
  let y: tf.Tensor = x;
  if (space.channels === 1) y = y.mean(3, true);
  else if (space.channelOrder === 'bgr') y = y.reverse(3);
  if (lo !== -1 || hi !== 1)
    y = y
      .add(1)
      .mul((hi - lo) / 2)
      .add(lo);
  const c = space.channels ?? 3;
  if (space.mean) y = y.sub(tf.tensor1d(space.mean.slice(0, c)));
  if (space.std) y = y.div(tf.tensor1d(space.std.slice(0, c)));
  return y as tf.Tensor4D;
}

/** Canonical pixels of RGB byte images, [n, h, w, 3]. */
export function fromByteImages(images: Uint8Array[], width: number, height: number): tf.Tensor4D {
  return tf.tidy(
    () =>
      tf
        .stack(images.map((rgb) => tf.tensor3d(rgb, [height, width, 3], 'int32')))
        .toFloat()
        .div(127.5)
        .sub(1) as tf.Tensor4D,
  );
}
