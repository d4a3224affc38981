/**
 * Conv and pooling windows from ONNX to the lean graph. ONNX pads each side explicitly (PyTorch:
 * symmetric), the lean ops pad TF-style ("same": the extra pixel at the end) or not at all: a
 * padding equal to TF's at every size (stride 1) is "same"; any other is an explicit zero-pad node
 * before a "valid" window. Zero padding is exact for convolutions and for average pools that count
 * the padding; for a max pool only over a map that is never negative (after ReLU), else the pads
 * must be TF's. `ceil_mode` pools are a larger end pad under the same rules.
 */
import type { Padding, Weight } from '../../engine/ops.ts';
import type { Feat, OpContext, Value } from './feature-ops.ts';
import { attrString } from './proto.ts';

type Pads = [[number, number], [number, number]];

/** TF "same" padding (begin, end) of one axis. */
function tfSame(n: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

const isZero = (p: Pads) => p.every(([a, b]) => a === 0 && b === 0);

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** Explicit pads [[top, bottom], [left, right]] (auto_pad resolved). */
  pads: Pads;
  /** auto_pad SAME_UPPER: TF's own "same". */
  same: boolean;
}

function windowOf(ctx: OpContext, shape: number[], kernel: [number, number]): Window {
  const strides = (ctx.ints('strides') ?? [1, 1]) as [number, number];
  const dilations = (ctx.ints('dilations') ?? [1, 1]) as [number, number];
  const auto = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const zero: Pads = [
    [0, 0],
    [0, 0],
  ];
  if (auto === 'VALID') return { kernel, strides, dilations, pads: zero, same: false };
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const pads = [0, 1].map((a) => tfSame(shape[2 + a]!, kernel[a]!, strides[a]!, dilations[a]!)) as Pads;
    return auto === 'SAME_UPPER' ? { kernel, strides, dilations, pads, same: true } : { kernel, strides, dilations, pads: pads.map(([b, e]) => [e, b]) as Pads, same: false };
  }
  const p = ctx.ints('pads') ?? [0, 0, 0, 0];
  return {
    kernel,
    strides,
    dilations,
    pads: [
      [p[0]!, p[2]!],
      [p[1]!, p[3]!],
    ],
    same: false,
  };
}

/** Whether explicit pads are TF's "same" at every input size (stride 1), or at this one (`anySize` false). */
function equalsTfSame(w: Window, shape: number[], anySize: boolean): boolean {
  if (anySize && (w.strides[0] !== 1 || w.strides[1] !== 1)) return false;
  return [0, 1].every((a) => {
    const [b, e] = tfSame(shape[2 + a]!, w.kernel[a]!, w.strides[a]!, w.dilations[a]!);
    return w.pads[a]![0] === b && w.pads[a]![1] === e;
  });
}

/** The lean padding of a window, emitting a zero-pad node first where needed; returns the window's input. */
function padFor(ctx: OpContext, x: Feat, w: Window): { input: string; padding: Padding } {
  if (w.same || (!isZero(w.pads) && equalsTfSame(w, x.shape, true))) return { input: x.node, padding: 'same' };
  if (isZero(w.pads)) return { input: x.node, padding: 'valid' };
  return { input: ctx.emit({ op: 'pad', pads: w.pads }, [x.node], 'Pad'), padding: 'valid' };
}

const nchw = (ctx: OpContext, id: string): number[] => {
  const [h, w, c] = ctx.leanShape(id) as [number, number, number];
  return [1, c, h, w];
};

/** Conv (plain, depthwise, grouped) with its bias: filters [M, C/g, kh, kw] → [kh, kw, C, M] (depthwise [kh, kw, C, M/C]). */
export function convOp(ctx: OpContext, x: Feat, wv: Value | undefined, bv: Value | undefined): Value {
  if (x.shape.length !== 4) return ctx.refuse(`convolves a feature map of shape [${x.shape.join(', ')}]; only 2-D convolutions are supported`);
  if (wv?.kind !== 'const' || wv.c.dims.length !== 4) return ctx.refuse('its weight is not a constant 4-D filter; only 2-D convolutions with constant weights are supported');
  const [m, cg, kh, kw] = wv.c.dims as [number, number, number, number];
  const c = x.shape[1]!;
  const groups = ctx.int('group', 1);
  if (cg * groups !== c || m % groups !== 0) return ctx.refuse(`has a filter of dims [${wv.c.dims.join(', ')}] in ${groups} groups for ${c} input channels`);
  const W = wv.c.data;
  const depthwise = groups > 1 && cg === 1;
  let filter: Weight;
  if (depthwise) {
    // Output o = channel · multiplier + k, as TF's depthwise order.
    const data = new Float32Array(kh * kw * m);
    for (let o = 0; o < m; o++) for (let i = 0; i < kh * kw; i++) data[i * m + o] = W[o * kh * kw + i]!;
    filter = { shape: [kh, kw, c, m / c], data };
  } else {
    // Grouped: block-diagonal over the full input (zeros outside each output's group).
    const perGroup = m / groups;
    const data = new Float32Array(kh * kw * c * m);
    for (let o = 0; o < m; o++) {
      const g = Math.floor(o / perGroup);
      for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh * kw; i++) data[(i * c + g * cg + ci) * m + o] = W[(o * cg + ci) * kh * kw + i]!;
    }
    filter = { shape: [kh, kw, c, m], data };
  }
  let bias: Weight | undefined;
  if (bv) {
    if (bv.kind !== 'const' || bv.c.data.length !== m) return ctx.refuse('its bias is not a constant of one value per output channel');
    bias = { shape: [m], data: Float32Array.from(bv.c.data) };
  }
  const w = windowOf(ctx, x.shape, [kh, kw]);
  const { input, padding } = padFor(ctx, x, w);
  const id = ctx.emit({ op: 'conv2d', kind: depthwise ? 'depthwise' : 'conv', filter, ...(bias ? { bias } : {}), strides: w.strides, padding, dilations: w.dilations, activation: 'linear' }, [input]);
  return { kind: 'feat', node: id, shape: nchw(ctx, id), nonneg: false };
}

/** MaxPool / AveragePool (2-D, no dilation). */
export function poolOps(ctx: OpContext, x: Feat, reduce: 'max' | 'avg'): Value {
  const kernel = ctx.ints('kernel_shape') as [number, number] | undefined;
  if (x.shape.length !== 4 || kernel?.length !== 2) return ctx.refuse(`pools a feature map of shape [${x.shape.join(', ')}] with kernel [${kernel?.join(', ')}]; only 2-D pools are supported`);
  const w = windowOf(ctx, x.shape, kernel);
  if (w.dilations.some((d) => d !== 1)) return ctx.refuse('pools with dilation');
  // ceil_mode: a window may start in the last partial stride (not past the input and its begin pad).
  let extra = false;
  if (ctx.int('ceil_mode', 0) === 1) {
    w.pads = w.pads.map(([b, e], a) => {
      const n = x.shape[2 + a]!;
      const s = w.strides[a]!;
      let out = Math.ceil((n + b + e - kernel[a]!) / s) + 1;
      if ((out - 1) * s >= n + b) out--;
      const grow = Math.max(0, (out - 1) * s + kernel[a]! - (n + b + e));
      extra ||= grow > 0;
      return [b, e + grow];
    }) as Pads;
  }
  const countPad = reduce === 'avg' && ctx.int('count_include_pad', 0) === 1;
  let lean: { input: string; padding: Padding };
  if (w.same || isZero(w.pads)) lean = { input: x.node, padding: w.same ? 'same' : 'valid' };
  else if ((reduce === 'max' && x.nonneg) || (countPad && !extra)) lean = { input: ctx.emit({ op: 'pad', pads: w.pads }, [x.node], 'Pad'), padding: 'valid' };
  else if (!countPad && equalsTfSame(w, x.shape, false)) lean = { input: x.node, padding: 'same' };
  else {
    return ctx.refuse(
      reduce === 'max'
        ? `pads [${w.pads.flat().join(', ')}] a map that may be negative; only TF-style "same" padding or a map after ReLU is supported`
        : `pads [${w.pads.flat().join(', ')}]${extra ? ' with ceil_mode' : ''}, which no lean average pool reproduces`,
    );
  }
  const id = ctx.emit({ op: 'pool2d', reduce, size: kernel, strides: w.strides, padding: lean.padding }, [lean.input]);
  return { kind: 'feat', node: id, shape: nchw(ctx, id), nonneg: x.nonneg };
}
