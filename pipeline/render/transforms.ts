/**
 * Random transformations for transformation robustness (Lucid's "standard transforms"): pad with
 * grey, jitter, scale, rotate, jitter again, composed into one affine map per image and applied by
 * bilinear sampling.
 *
 * The render loop's warp (`affineWarp`), on backends whose tensors live in host memory, is bilinear
 * sampling in JS both ways (`bilinearInto`): on wasm and cpu a kernel of ours (`AtlasBilinear`) that
 * reads and writes the backend's own memory (the wasm heap: no copy, nothing for the garbage
 * collector), on tfjs-node through one copy each way. Elsewhere (WebGPU, WebGL) the forward is one
 * `Transform` kernel (TF.js's `tf.image.transform`: bilinear, grey outside) with the per-image maps
 * of the whole batch in one [B, 8] tensor, and the gradient, which that kernel lacks, one
 * `scatterND` of a sampling map (`samplingMap`; scatterND sums duplicate indices), as `warp` does:
 * the adjoint of bilinear sampling spreads each output pixel's gradient onto its four input corners
 * with the same weights. Maps come from per-image parameters, so an image's warp does not depend on
 * the rest of its batch.
 *
 * `warp` (four gathers forward, scatterND backward, tables from `samplingMap`) is the general
 * form; quality numbers use it for their jittered copies.
 */
import * as tf from '@tensorflow/tfjs';
import type { Transforms } from './method.ts';
import { registerHostKernel, runHostKernel } from './host-kernels.ts';
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
  /** What the model sees: a window of the image's own size (`image`), or (absent, `window`) Lucid's padded image less both jitters. */
  view?: 'image' | 'window';
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
 * Its output is the padded image less both jitters (Lucid's), or `fixed` when given: the centre of
 * that window (the image's own size, or a fixed-size model's input).
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
 * at (a0·x + a1·y + a2, b0·x + b1·y + b2) from `params[b]` (`transformParams`). Writes every
 * element of `dst` (the adjoint clears it, then adds to it).
 */
export function bilinearInto(direction: 'forward' | 'adjoint', src: Float32Array, dst: Float32Array, params: number[][], size: [number, number], out: [number, number], c: number): void {
  const [h, w] = size;
  const [oh, ow] = out;
  const forward = direction === 'forward';
  if (!forward) dst.fill(0);
  const row = w * c;
  for (let b = 0; b < params.length; b++) {
    const [a0, a1, a2, b0, b1, b2] = params[b] as [number, number, number, number, number, number];
    const base = b * h * w * c;
    for (let y = 0; y < oh; y++) {
      const ax = a1 * y + a2;
      const bx = b1 * y + b2;
      let o = (b * oh + y) * ow * c;
      for (let x = 0; x < ow; x++, o += c) {
        const sx = a0 * x + ax;
        const sy = b0 * x + bx;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        if (y0 < -1 || y0 >= h || x0 < -1 || x0 >= w) {
          if (forward) for (let j = 0; j < c; j++) dst[o + j] = 0;
          continue;
        }
        const fy = sy - y0;
        const fx = sx - x0;
        const i00 = base + y0 * row + x0 * c;
        const w00 = (1 - fy) * (1 - fx);
        const w01 = (1 - fy) * fx;
        const w10 = fy * (1 - fx);
        const w11 = fy * fx;
        if (y0 >= 0 && y0 + 1 < h && x0 >= 0 && x0 + 1 < w) {
          // All four corners inside (almost every pixel); three channels written out.
          const i01 = i00 + c;
          const i10 = i00 + row;
          const i11 = i10 + c;
          if (forward && c === 3) {
            dst[o] = w00 * src[i00]! + w01 * src[i01]! + w10 * src[i10]! + w11 * src[i11]!;
            dst[o + 1] = w00 * src[i00 + 1]! + w01 * src[i01 + 1]! + w10 * src[i10 + 1]! + w11 * src[i11 + 1]!;
            dst[o + 2] = w00 * src[i00 + 2]! + w01 * src[i01 + 2]! + w10 * src[i10 + 2]! + w11 * src[i11 + 2]!;
          } else if (forward) for (let j = 0; j < c; j++) dst[o + j] = w00 * src[i00 + j]! + w01 * src[i01 + j]! + w10 * src[i10 + j]! + w11 * src[i11 + j]!;
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
        if (forward) for (let j = 0; j < c; j++) dst[o + j] = 0;
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
  }
}

/** `bilinearInto` into a new array. */
export function bilinear(direction: 'forward' | 'adjoint', src: Float32Array, params: number[][], size: [number, number], out: [number, number], c: number): Float32Array {
  const dst = new Float32Array(params.length * (direction === 'forward' ? out[0] * out[1] : size[0] * size[1]) * c);
  bilinearInto(direction, src, dst, params, size, out, c);
  return dst;
}

/** The `Bilinear` kernel's attributes: the direction, the per-image sampling parameters (6 each, flat), sizes and channels. */
interface BilinearAttrs {
  direction: 'forward' | 'adjoint';
  params: number[];
  size: [number, number];
  out: [number, number];
  channels: number;
}

const BILINEAR = 'AtlasBilinear';

registerHostKernel<BilinearAttrs>(
  BILINEAR,
  ['x'],
  ([x], { direction, size, out, channels }) => (direction === 'forward' ? [x![0]!, out[0], out[1], channels] : [x![0]!, size[0], size[1], channels]),
  ([x], dst, { direction, params, size, out, channels }, [shape]) =>
    bilinearInto(
      direction,
      x!,
      dst,
      Array.from({ length: shape![0]! }, (_, b) => params.slice(6 * b, 6 * b + 6)),
      size,
      out,
      channels,
    ),
);

/** `bilinear` on a tensor: a kernel reading and writing the backend's memory in place where it can, else through a copy. */
function bilinearOp(direction: 'forward' | 'adjoint', x: tf.Tensor, params: number[][], size: [number, number], out: [number, number], c: number): tf.Tensor4D {
  const attrs: BilinearAttrs = { direction, params: params.flatMap((p) => p.slice(0, 6)), size, out, channels: c };
  const kernel = runHostKernel(BILINEAR, { x }, attrs);
  if (kernel) return kernel as tf.Tensor4D;
  const [h, w] = direction === 'forward' ? out : size;
  return tf.tensor4d(bilinear(direction, x.dataSync() as Float32Array, params, size, out, c), [x.shape[0]!, h, w, c]);
}

/** Backends whose tensors live in host memory: reading a gradient back costs a copy, not a device sync. */
const HOST_BACKENDS = new Set(['wasm', 'cpu', 'tensorflow']);

/**
 * Warps x [B, h, w, C] by one affine per image → [B, oh, ow, C]; outside the image is 0 (grey in
 * canonical pixels). On host backends both ways are bilinear sampling in JS (`bilinearOp`: in
 * place on wasm and cpu, else one copy each way); elsewhere the forward is one
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
      const value = host ? bilinearOp('forward', input, params, size, out, c) : tf.image.transform(input as tf.Tensor4D, tf.tensor2d(params, [b, 8]), 'bilinear', 'constant', 0, out);
      return {
        value,
        gradFunc: (dy: tf.Tensor) => {
          if (host) return bilinearOp('adjoint', dy, params, size, out, c);
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

/**
 * The render loop's transforms: at every step, one random affine per unit from its seed and the step,
 * ending at `out` (a fixed-size model's input) or, with `view: 'image'`, at the image's own size.
 */
export function randomTransforms(t: TransformSettings): Transforms {
  return (units, step, size, out) => {
    const view = out ?? (t.view === 'image' ? size : undefined);
    const affines = units.map((u) => randomAffine(stepSeed(u.seed, step), size, t, view));
    return (x) => affineWarp(x, affines);
  };
}
