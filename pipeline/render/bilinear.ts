/**
 * Bilinear sampling in JS, both ways, over one batch in host memory (`bilinearInto`), and the
 * kernel of ours that runs it on the backend's own memory (`AtlasBilinear`: on wasm and cpu it
 * reads and writes the wasm heap or the cpu arrays, no copy, nothing for the garbage collector;
 * on tfjs-node one copy each way). The render loop's warp on host backends (`affineWarp`).
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, runHostKernel } from './host-kernels.ts';

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
export function bilinearOp(direction: 'forward' | 'adjoint', x: tf.Tensor, params: number[][], size: [number, number], out: [number, number], c: number): tf.Tensor4D {
  const attrs: BilinearAttrs = { direction, params: params.flatMap((p) => p.slice(0, 6)), size, out, channels: c };
  const kernel = runHostKernel(BILINEAR, { x }, attrs);
  if (kernel) return kernel as tf.Tensor4D;
  const [h, w] = direction === 'forward' ? out : size;
  return tf.tensor4d(bilinear(direction, x.dataSync() as Float32Array, params, size, out, c), [x.shape[0]!, h, w, c]);
}
