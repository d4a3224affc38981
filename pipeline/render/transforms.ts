/**
 * Random transformations for transformation robustness (Lucid's "standard transforms"): pad with
 * grey, jitter, scale, rotate, jitter again, composed into one affine map per image and applied by
 * bilinear sampling.
 *
 * The render loop's warp (`affineWarp`) is one `Transform` kernel per step (TF.js's
 * `tf.image.transform`: bilinear, grey outside; every backend has it, wasm in C++) with the
 * per-image maps of the whole batch in one [B, 8] tensor. That kernel has no gradient, so the
 * gradient is written out: the adjoint of bilinear sampling spreads each output pixel's gradient
 * onto its four input corners with the same weights. Where tensors live in host memory (wasm, cpu,
 * tfjs-node) that is one pass in JS over the batch; elsewhere (WebGPU, WebGL) one `scatterND` of a
 * sampling map (`samplingMap`; scatterND sums duplicate indices), as `warp` does. Maps come from
 * per-image parameters, so an image's warp does not depend on the rest of its batch.
 *
 * `warp` (four gathers forward, scatterND backward, tables from `samplingMap`) is the general
 * form; quality numbers use it for their jittered copies.
 */
import * as tf from '@tensorflow/tfjs';
import type { Transforms } from './method.ts';
import { prng } from './seed.ts';

export interface TransformSettings {
  /** Grey margin added on every side before jittering, pixels. */
  pad: number;
  /** First jitter: random integer shift in [-jitter/2, jitter/2] (Lucid's crop by `jitter`). */
  jitter: number;
  /** Random scale range. */
  scale: [number, number];
  /** Random rotation in [-rotate, rotate] degrees. */
  rotate: number;
  /** Second jitter, after scaling and rotation. */
  jitter2: number;
}

/** Lucid's standard transforms at 224 px (the config's `auto` values there). */
export const STANDARD_TRANSFORMS: TransformSettings = { pad: 12, jitter: 8, scale: [0.9, 1.1], rotate: 10, jitter2: 4 };

/** One image's affine transform: output centred coords → input coords. */
export interface Affine {
  /** Output size [h, w]. */
  out: [number, number];
  scale: number;
  /** Radians. */
  angle: number;
  /** Shift before scaling (input pixels) and after scaling/rotation (output pixels), [dy, dx]. */
  shift1: [number, number];
  shift2: [number, number];
}

/** Mixes a unit seed and a step into one 32-bit seed. */
export function stepSeed(seed: number, step: number): number {
  let h = (seed ^ Math.imul(step + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const int = (rand: () => number, max: number) => Math.min(max, Math.floor(rand() * (max + 1)));

/**
 * The random transform of one image at one step, drawn from `seed` (e.g. stepSeed(unitSeed, step)).
 * Its output is the padded image less both jitters (Lucid's), or `out` when given: the centre of that
 * window, for a model that takes only its own input size.
 */
export function randomAffine(seed: number, size: [number, number], t: TransformSettings, fixed?: [number, number]): Affine {
  const rand = prng(seed);
  const out: [number, number] = fixed ?? [size[0] + 2 * t.pad - t.jitter - t.jitter2, size[1] + 2 * t.pad - t.jitter - t.jitter2];
  const shift1: [number, number] = [int(rand, t.jitter) - t.jitter / 2, int(rand, t.jitter) - t.jitter / 2];
  const scale = t.scale[0] + (t.scale[1] - t.scale[0]) * rand();
  const angle = ((2 * rand() - 1) * t.rotate * Math.PI) / 180;
  const shift2: [number, number] = [int(rand, t.jitter2) - t.jitter2 / 2, int(rand, t.jitter2) - t.jitter2 / 2];
  return { out, scale, angle, shift1, shift2 };
}

/** Identity-sized copy transform for quality checks: shift (pixels) and scale, no padding. */
export function copyAffine(size: [number, number], shift: [number, number], scale: number): Affine {
  return { out: size, scale, angle: 0, shift1: [0, 0], shift2: shift };
}

export interface SamplingMap {
  /** [4, n] flat indices into the [B·h·w] pixels of the input batch. */
  index: Int32Array;
  /** [4, n] bilinear weights (0 where the corner is outside the image: grey). */
  weight: Float32Array;
  n: number;
}

/**
 * Bilinear sampling map of a batch: image b's output pixel p samples its input at
 * c_in + R(-angle)·(p - c_out - shift2)/scale - shift1.
 */
export function samplingMap(affines: Affine[], size: [number, number]): SamplingMap {
  const [h, w] = size;
  const [oh, ow] = affines[0]!.out;
  for (const a of affines) if (a.out[0] !== oh || a.out[1] !== ow) throw new Error('all transforms of a batch need one output size');
  const per = oh * ow;
  const n = affines.length * per;
  const index = new Int32Array(4 * n);
  const weight = new Float32Array(4 * n);
  affines.forEach((a, b) => {
    // The same point as the Transform kernel and `bilinear` sample: one geometry, `transformParams`.
    const [a0, a1, a2, b0, b1, b2] = transformParams(a, size) as [number, number, number, number, number, number];
    const base = b * h * w;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sx = a0 * x + a1 * y + a2;
        const sy = b0 * x + b1 * y + b2;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        const o = b * per + y * ow + x;
        // The four corners k = 0..3: (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1).
        for (let k = 0; k < 4; k++) {
          const cy = y0 + (k >> 1);
          const cx = x0 + (k & 1);
          const inside = cy >= 0 && cy < h && cx >= 0 && cx < w;
          index[k * n + o] = base + (inside ? cy * w + cx : 0);
          weight[k * n + o] = inside ? (k >> 1 ? fy : 1 - fy) * (k & 1 ? fx : 1 - fx) : 0;
        }
      }
    }
  });
  return { index, weight, n };
}

/**
 * Warps x [B, h, w, C] by a sampling map → [B, oh, ow, C]; outside the image is 0 (grey in
 * canonical pixels). Differentiable in x on every backend (custom gradient by scatterND).
 */
export function warp(x: tf.Tensor4D, map: SamplingMap, out: [number, number]): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const { n } = map;
  return tf.tidy(() => {
    const index = tf.tensor2d(map.index, [4, n], 'int32');
    const weight = tf.tensor2d(map.weight, [4, n]);
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      const flat = input.reshape([b * h * w, c]);
      const value = tf.addN([0, 1, 2, 3].map((k) => tf.gather(flat, index.slice([k, 0], [1, n]).reshape([n])).mul(weight.slice([k, 0], [1, n]).reshape([n, 1]))));
      save([index, weight]);
      return {
        value: value.reshape([b, out[0], out[1], c]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [ix, wt] = saved as [tf.Tensor2D, tf.Tensor2D];
          const g = dy
            .reshape([1, n, c])
            .mul(wt.reshape([4, n, 1]))
            .reshape([4 * n, c]);
          return tf.scatterND(ix.reshape([4 * n, 1]), g, [b * h * w, c]).reshape([b, h, w, c]);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(x) as tf.Tensor4D;
  });
}

/**
 * The `tf.image.transform` parameters [a0, a1, a2, b0, b1, b2, 0, 0] of an affine: output pixel
 * (x, y) samples its input at (a0·x + a1·y + a2, b0·x + b1·y + b2) — the same point as `samplingMap`.
 */
export function transformParams(a: Affine, size: [number, number]): number[] {
  const [h, w] = size;
  const [oh, ow] = a.out;
  const cos = Math.cos(a.angle) / a.scale;
  const sin = Math.sin(a.angle) / a.scale;
  const ty = (oh - 1) / 2 + a.shift2[0];
  const tx = (ow - 1) / 2 + a.shift2[1];
  return [cos, sin, (w - 1) / 2 - a.shift1[1] - sin * ty - cos * tx, -sin, cos, (h - 1) / 2 - a.shift1[0] - cos * ty + sin * tx, 0, 0];
}

/**
 * Bilinear sampling in JS, both ways, over one batch in host memory (channels last, `c` of them):
 * `forward` x [B, h, w, c] → y [B, oh, ow, c]; `adjoint` dy [B, oh, ow, c] → dx [B, h, w, c], each
 * output pixel's gradient added to its four input corners with the same weights. Corners outside
 * the image count as 0 (grey) and get no gradient. Image b's output pixel (x, y) samples its input
 * at (a0·x + a1·y + a2, b0·x + b1·y + b2) from `params[b]` (`transformParams`).
 */
export function bilinear(direction: 'forward' | 'adjoint', src: Float32Array, params: number[][], size: [number, number], out: [number, number], c: number): Float32Array {
  const [h, w] = size;
  const [oh, ow] = out;
  const forward = direction === 'forward';
  const dst = new Float32Array(params.length * (forward ? oh * ow : h * w) * c);
  const row = w * c;
  params.forEach((t, b) => {
    const [a0, a1, a2, b0, b1, b2] = t as [number, number, number, number, number, number];
    const base = b * h * w * c;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sx = a0 * x + a1 * y + a2;
        const sy = b0 * x + b1 * y + b2;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        if (y0 < -1 || y0 >= h || x0 < -1 || x0 >= w) continue;
        const fy = sy - y0;
        const fx = sx - x0;
        const o = ((b * oh + y) * ow + x) * c;
        const i00 = base + y0 * row + x0 * c;
        const w00 = (1 - fy) * (1 - fx);
        const w01 = (1 - fy) * fx;
        const w10 = fy * (1 - fx);
        const w11 = fy * fx;
        if (y0 >= 0 && y0 + 1 < h && x0 >= 0 && x0 + 1 < w) {
          // All four corners inside (almost every pixel).
          const i01 = i00 + c;
          const i10 = i00 + row;
          const i11 = i10 + c;
          if (forward) for (let j = 0; j < c; j++) dst[o + j] = w00 * src[i00 + j]! + w01 * src[i01 + j]! + w10 * src[i10 + j]! + w11 * src[i11 + j]!;
          else
            for (let j = 0; j < c; j++) {
              const g = src[o + j]!;
              dst[i00 + j]! += w00 * g;
              dst[i01 + j]! += w01 * g;
              dst[i10 + j]! += w10 * g;
              dst[i11 + j]! += w11 * g;
            }
          continue;
        }
        const weights = [w00, w01, w10, w11];
        for (let k = 0; k < 4; k++) {
          const cy = y0 + (k >> 1);
          const cx = x0 + (k & 1);
          if (cy < 0 || cy >= h || cx < 0 || cx >= w) continue;
          const i = base + cy * row + cx * c;
          const wk = weights[k]!;
          for (let j = 0; j < c; j++) {
            if (forward) dst[o + j]! += wk * src[i + j]!;
            else dst[i + j]! += wk * src[o + j]!;
          }
        }
      }
    }
  });
  return dst;
}

/** Backends whose tensors live in host memory: reading a gradient back costs a copy, not a device sync. */
const HOST_BACKENDS = new Set(['wasm', 'cpu', 'tensorflow']);

/**
 * Warps x [B, h, w, C] by one affine per image → [B, oh, ow, C]; outside the image is 0 (grey in
 * canonical pixels). On host backends both ways are `bilinear` in JS (one read of x, one of the
 * gradient: the copies cost less than the kernels they replace); elsewhere the forward is one
 * `Transform` kernel and the gradient scatterND of the sampling map. `host` forces one or the
 * other (tests).
 */
export function affineWarp(x: tf.Tensor4D, affines: Affine[], host = HOST_BACKENDS.has(tf.getBackend())): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const size: [number, number] = [h, w];
  const out = affines[0]!.out;
  for (const a of affines) if (a.out[0] !== out[0] || a.out[1] !== out[1]) throw new Error('all transforms of a batch need one output size');
  const params = affines.map((a) => transformParams(a, size));
  return tf.tidy(() => {
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      const value = host
        ? tf.tensor4d(bilinear('forward', input.dataSync() as Float32Array, params, size, out, c), [b, out[0], out[1], c])
        : tf.image.transform(input as tf.Tensor4D, tf.tensor2d(params, [b, 8]), 'bilinear', 'constant', 0, out);
      return {
        value,
        gradFunc: (dy: tf.Tensor) => {
          if (host) return tf.tensor4d(bilinear('adjoint', dy.dataSync() as Float32Array, params, size, out, c), [b, h, w, c]);
          const map = samplingMap(affines, size);
          const index = tf.tensor2d(map.index, [4 * map.n, 1], 'int32');
          const weighted = dy
            .reshape([1, map.n, c])
            .mul(tf.tensor2d(map.weight, [4, map.n]).reshape([4, map.n, 1]))
            .reshape([4 * map.n, c]);
          return tf.scatterND(index, weighted, [b * h * w, c]).reshape([b, h, w, c]);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(x) as tf.Tensor4D;
  });
}

/** The render loop's transforms: at every step, one random affine per unit from its seed and the step. */
export function randomTransforms(t: TransformSettings): Transforms {
  return (units, step, size, out) => {
    const affines = units.map((u) => randomAffine(stepSeed(u.seed, step), size, t, out));
    return (x) => affineWarp(x, affines);
  };
}
