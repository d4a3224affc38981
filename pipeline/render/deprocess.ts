/**
 * The lecture's deprocessing: per image, standardize, scale to std 0.15, add 0.5, clip to [0, 1],
 * crop `crop` pixels per side when the image is large enough, and quantize to bytes.
 */
import * as tf from '@tensorflow/tfjs';

/** Images smaller than this keep their margin (cropping would leave too little). */
export const MIN_SIZE_FOR_CROP = 100;

export function cropFor(size: number, crop: number): number {
  return size >= MIN_SIZE_FOR_CROP && size > 4 * crop ? crop : 0;
}

/** x: [B, H, W, 3] canonical pixels → [B, H', W', 3] int32 in 0..255. */
export function deprocess(x: tf.Tensor4D, crop: number): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2, 3], true);
    const std = tf.sqrt(variance).add(1e-5);
    let y = x.sub(mean).div(std).mul(0.15).add(0.5).clipByValue(0, 1);
    const [b, h, w] = x.shape;
    const ch = cropFor(h, crop);
    const cw = cropFor(w, crop);
    if (ch || cw) y = y.slice([0, ch, cw, 0], [b, h - 2 * ch, w - 2 * cw, 3]);
    return y.mul(255).round().toInt() as tf.Tensor4D;
  });
}

/** The optimized image as the model sees it: canonical pixels clipped to [-1, 1], as bytes, uncropped. */
export function clipToBytes(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => x.clipByValue(-1, 1).add(1).mul(127.5).round().toInt() as tf.Tensor4D);
}

/** Splits a deprocessed batch into one RGB byte buffer per image. */
export async function toRgbBuffers(images: tf.Tensor4D): Promise<Uint8Array[]> {
  const [b, h, w, c] = images.shape;
  const data = await images.data();
  const size = h * w * c;
  return Array.from({ length: b }, (_, i) => Uint8Array.from(data.subarray(i * size, (i + 1) * size)));
}

/** How frames are shown: the lecture's standardization with a crop, or the optimized image clipped. */
export interface DisplayDeprocess {
  mode: 'lecture' | 'clip';
  /** Pixels cropped per side by `lecture` (images ≥ MIN_SIZE_FOR_CROP). */
  crop: number;
}

/** Display bytes [B, h', w', 3] of canonical images. */
export function displayBytes(x: tf.Tensor4D, d: DisplayDeprocess): tf.Tensor4D {
  return d.mode === 'clip' ? clipToBytes(x) : deprocess(x, d.crop);
}

/** The displayed size [width, height] of an optimized image of size [h, w]. */
export function displaySize([h, w]: [number, number], d: DisplayDeprocess): [number, number] {
  const crop = d.mode === 'clip' ? 0 : d.crop;
  return [w - 2 * cropFor(w, crop), h - 2 * cropFor(h, crop)];
}
