/**
 * Rules for pooling and resampling.
 *
 * - Max pool: per kernel offset, a strided slice of the (−∞-padded) input compared with the output
 *   marks the windows whose first maximum (row-major, like TF) sits at that offset; dy masked by
 *   those k² marks, stacked per channel, is scattered back by one grouped `ConvTranspose` with a
 *   one-hot kernel per offset. Exact for overlapping windows, padding and maxima ≤ 0. (MaxPool's own
 *   Indices output is not used: it would need a serial ScatterElements, and keeps the forward
 *   MaxPool a single-output op that ORT's NCHWc layout optimization can take.)
 * - Average pool: its transpose is a `ConvTranspose` of dy / (window count) with a ones filter per
 *   channel; counts exclude padding, as TF's 'same' average pool does.
 * - Global pools: dy spread over the plane (average), or onto the maxima (max: every tied maximum,
 *   as TF.js's max gradient does).
 * - Resize and upsample: separable interpolation matrices (x ↦ Rh · x · Rwᵀ per plane), so the
 *   gradient is the transposed products (dy ↦ Rhᵀ · dy · Rw) and both are plain MatMuls.
 */
import type { LeanOp } from '../ops.ts';
import { resolvePads } from '../conv-ops.ts';
import type { GraphBuilder } from './builder.ts';
import { isImage, UnsupportedOpError, type Rule, type Val } from './rule.ts';

type Pool = Extract<LeanOp, { op: 'pool2d' }>;

function poolGeometry(op: Pool, x: Val) {
  if (!isImage(x.shape)) throw new UnsupportedOpError(`pool2d needs an image input, got shape [${x.shape}]`);
  const [h, w, c] = x.shape as [number, number, number];
  const [kh, kw] = op.size;
  const [sh, sw] = op.strides;
  const pads = resolvePads(h, w, op.size, op.strides, op.padding);
  const oh = Math.floor((h + pads[0][0] + pads[0][1] - kh) / sh) + 1;
  const ow = Math.floor((w + pads[1][0] + pads[1][1] - kw) / sw) + 1;
  if (oh < 1 || ow < 1) throw new UnsupportedOpError(`a ${kh}×${kw} pool on a ${h}×${w} input has no output`);
  const rem = [h + pads[0][0] + pads[0][1] - kh - (oh - 1) * sh, w + pads[1][0] + pads[1][1] - kw - (ow - 1) * sw];
  return { h, w, c, oh, ow, pads, rem, attrs: { kernel_shape: [kh, kw], strides: [sh, sw], pads: [pads[0][0], pads[1][0], pads[0][1], pads[1][1]] } };
}

/** Number of real (unpadded) input elements in each window, [oh·ow] row-major. */
function windowCounts(g: ReturnType<typeof poolGeometry>, op: Pool): Float32Array {
  const counts = new Float32Array(g.oh * g.ow);
  const span = (o: number, s: number, k: number, pad: number, size: number) => Math.min(o * s - pad + k, size) - Math.max(o * s - pad, 0);
  for (let i = 0; i < g.oh; i++) for (let j = 0; j < g.ow; j++) counts[i * g.ow + j] = span(i, op.strides[0], op.size[0], g.pads[0][0], g.h) * span(j, op.strides[1], op.size[1], g.pads[1][0], g.w);
  return counts;
}

/** The max pool's input gradient (see the header). */
function maxPoolGrad(b: GraphBuilder, op: Pool, g: ReturnType<typeof poolGeometry>, x: string, y: string, dy: string): string {
  const [kh, kw] = op.size;
  const [sh, sw] = op.strides;
  // Pad with −∞ (never a maximum) so that every strided window lies inside.
  const [pt, pl] = [g.pads[0][0], g.pads[1][0]];
  const extra = [Math.max((g.oh - 1) * sh + kh - g.h - pt, 0), Math.max((g.ow - 1) * sw + kw - g.w - pl, 0)];
  const padded = pt || pl || extra[0] || extra[1] ? b.op1('Pad', [x, b.ints([0, 0, pt, pl, 0, 0, extra[0]!, extra[1]!]), b.scalar(-Infinity)]) : x;
  const zero = b.scalar(0);
  const masked: string[] = [];
  let claimed: string | undefined;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const window = b.op1('Slice', [padded, b.ints([i, j]), b.ints([i + (g.oh - 1) * sh + 1, j + (g.ow - 1) * sw + 1]), b.ints([2, 3]), b.ints([sh, sw])]);
      const max = b.op1('Equal', [window, y]);
      const hit = claimed ? b.op1('And', [max, b.op1('Not', [claimed])]) : max;
      claimed = claimed ? b.op1('Or', [claimed, max]) : max;
      masked.push(b.op1('Unsqueeze', [b.op1('Where', [hit, dy, zero]), b.ints([2])]));
    }
  }
  const k2 = kh * kw;
  const stacked = b.op1('Reshape', [masked.length > 1 ? b.op1('Concat', masked, { axis: 2 }) : masked[0]!, b.ints([0, g.c * k2, g.oh, g.ow])]);
  // Kernel (c, offset i·kw + j) is one at (i, j): ConvTranspose puts window (oy, ox)'s value at
  // input row oy·sh + i − pt, column ox·sw + j − pl.
  const onehot = new Float32Array(g.c * k2 * k2);
  for (let c = 0; c < g.c; c++) for (let o = 0; o < k2; o++) onehot[(c * k2 + o) * k2 + o] = 1;
  const w = b.constant(onehot, [g.c * k2, 1, kh, kw], 'pool_onehot');
  return b.op1('ConvTranspose', [stacked, w], { ...g.attrs, group: g.c, output_padding: g.rem });
}

const pool2d: Rule<Pool> = {
  forward(b, op, [x]) {
    const g = poolGeometry(op, x!);
    const shape = [g.oh, g.ow, g.c];
    if (op.reduce === 'avg') return { out: { name: b.op1('AveragePool', [x!.name], { ...g.attrs, count_include_pad: 0 }), shape } };
    return { out: { name: b.op1('MaxPool', [x!.name], g.attrs), shape } };
  },
  backward(b, op, [x], fwd, dy) {
    const g = poolGeometry(op, x!);
    if (op.reduce === 'max') return [maxPoolGrad(b, op, g, x!.name, fwd.out.name, dy)];
    const inv = windowCounts(g, op).map((n) => 1 / n);
    const scaled = b.op1('Mul', [dy, b.constant(inv, [1, 1, g.oh, g.ow], 'pool_inv')]);
    const ones = b.constant(new Float32Array(g.c * op.size[0] * op.size[1]).fill(1), [g.c, 1, ...op.size], 'pool_ones');
    return [b.op1('ConvTranspose', [scaled, ones], { ...g.attrs, group: g.c, output_padding: g.rem })];
  },
};

const globalPool: Rule<Extract<LeanOp, { op: 'globalPool' }>> = {
  forward(b, op, [x]) {
    if (!isImage(x!.shape)) throw new UnsupportedOpError(`globalPool needs an image input, got shape [${x!.shape}]`);
    const c = x!.shape[2]!;
    const y = b.op1(op.reduce === 'avg' ? 'ReduceMean' : 'ReduceMax', [x!.name], { axes: [2, 3], keepdims: op.keepDims ? 1 : 0 });
    return { out: { name: y, shape: op.keepDims ? [1, 1, c] : [c] } };
  },
  backward(b, op, [x], fwd, dy) {
    const [h, w] = x!.shape as [number, number, number];
    const axes = b.ints([2, 3]);
    const d4 = op.keepDims ? dy : b.op1('Unsqueeze', [dy, axes]);
    const spread = b.op1('Expand', [d4, b.op1('Shape', [x!.name])]);
    if (op.reduce === 'avg') return [b.op1('Mul', [spread, b.scalar(1 / (h * w))])];
    const y4 = op.keepDims ? fwd.out.name : b.op1('Unsqueeze', [fwd.out.name, axes]);
    return [b.op1('Where', [b.op1('Equal', [x!.name, y4]), spread, b.scalar(0)])];
  },
};

/**
 * Row-major [out, in] interpolation matrix of one axis, as TF.js resizes with half-pixel centres
 * (Keras' Resizing): bilinear between floor and ceil of (o + 0.5)·in/out − 0.5 (clamped); nearest
 * at floor((o + 0.5)·in/out).
 */
export function interpolationMatrix(inSize: number, outSize: number, method: 'bilinear' | 'nearest'): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const ratio = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (method === 'nearest') {
      m[o * inSize + Math.min(inSize - 1, Math.floor((o + 0.5) * ratio))] = 1;
      continue;
    }
    const src = (o + 0.5) * ratio - 0.5;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - lo;
    m[o * inSize + lo] += 1 - frac;
    m[o * inSize + hi] += frac;
  }
  return m;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

/** x [N, C, H, W] ↦ Rh · x · Rwᵀ, with Rh [oh, H] and Rw [ow, W]. */
function resample(b: GraphBuilder, x: string, rh: Float32Array, rw: Float32Array, [h, w]: number[], [oh, ow]: number[]): string {
  const cols = b.op1('MatMul', [x, b.constant(transpose(rw, ow, w), [w, ow], 'rwT')]);
  return b.op1('MatMul', [b.constant(rh, [oh, h], 'rh'), cols]);
}

function resampleRule<O extends LeanOp>(target: (op: O, shape: number[]) => [number, number], method: (op: O) => 'bilinear' | 'nearest'): Rule<O> {
  const matrices = (op: O, x: Val) => {
    if (!isImage(x.shape)) throw new UnsupportedOpError(`${op.op} needs an image input, got shape [${x.shape}]`);
    const [h, w] = x.shape as [number, number];
    const [oh, ow] = target(op, x.shape);
    return { h, w, oh, ow, rh: interpolationMatrix(h, oh, method(op)), rw: interpolationMatrix(w, ow, method(op)) };
  };
  return {
    forward(b, op, [x]) {
      const m = matrices(op, x!);
      return { out: { name: resample(b, x!.name, m.rh, m.rw, [m.h, m.w], [m.oh, m.ow]), shape: [m.oh, m.ow, x!.shape[2]!] } };
    },
    backward(b, op, [x], _fwd, dy) {
      const m = matrices(op, x!);
      return [resample(b, dy, transpose(m.rh, m.oh, m.h), transpose(m.rw, m.ow, m.w), [m.oh, m.ow], [m.h, m.w])];
    },
  };
}

const resize = resampleRule<Extract<LeanOp, { op: 'resize' }>>(
  (op) => op.size,
  (op) => op.method,
);
const upsample = resampleRule<Extract<LeanOp, { op: 'upsample' }>>(
  (op, [h, w]) => [h! * op.factor[0], w! * op.factor[1]],
  () => 'nearest',
);

export const POOL_RULES = { pool2d, globalPool, resize, upsample } as const;
