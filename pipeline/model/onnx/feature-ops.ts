/**
 * Each ONNX op over feature maps as lean nodes (NCHW there, NHWC here). A value is a constant or a
 * feature map: a lean node plus the ONNX shape it stands for (batch 1 first), whether it is never
 * negative (zero padding before a max pool is then exact), the NCHW order of a flattened map, or a
 * channel view (channel shuffle, `chunk`: which source channel each channel is).
 */
import type { ActivationName, LeanOp, Weight } from '../../engine/ops.ts';
import { broadcastOp, ints } from './fold.ts';
import { attrFloat, attrString, type Const, type NodeProto } from './proto.ts';
import { convOp, poolOps } from './windows.ts';

export interface Feat {
  kind: 'feat';
  /** The lean node holding it (for a view: the source node). */
  node: string;
  /** Its ONNX shape, batch 1 first. */
  shape: number[];
  nonneg: boolean;
  /** A flattened [1, F] map in lean (HWC) order: the NCHW index of each lean element. */
  flatPerm?: Int32Array;
  /** A channel view: the source channel of each channel (row-major over shape[1..rank-3]). */
  view?: { index: Int32Array; origin: NodeProto; made?: string };
}

export type Value = { kind: 'const'; c: Const } | Feat;

export interface OpContext {
  node: NodeProto;
  opset: number;
  file: string;
  refuse(message: string): never;
  ints(name: string): number[] | undefined;
  int(name: string, fallback: number): number;
  /** Adds a lean node (named later by `origin`'s module); returns its id. */
  emit(op: LeanOp, inputs: string[], opType?: string, className?: string, origin?: NodeProto): string;
  leanShape(id: string): number[];
  leanOp(id: string): LeanOp;
  leanInputs(id: string): string[];
}

type Handler = (ctx: OpContext, inputs: (Value | undefined)[]) => Value | Value[];

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const isIdentity = (index: Int32Array, n: number) => index.length === n && index.every((v, i) => v === i);

/** A feature map read as a tensor: a channel view becomes one channel-selection node here. */
export function materialize(ctx: OpContext, v: Value | undefined, what = 'input'): Feat {
  if (!v || v.kind !== 'feat') return ctx.refuse(`its ${what} is a constant where a feature map is expected`);
  if (!v.view) return v;
  if (v.shape.length !== 4) ctx.refuse(`reads a channel view of shape [${v.shape.join(', ')}]; only [N, C, H, W] views are supported`);
  const source = ctx.leanShape(v.node);
  const c = source[source.length - 1]!;
  if (isIdentity(v.view.index, c)) return { kind: 'feat', node: v.node, shape: v.shape, nonneg: v.nonneg };
  if (!v.view.made) {
    const out = v.view.index.length;
    const kernel = new Float32Array(c * out);
    v.view.index.forEach((src, j) => (kernel[src * out + j] = 1));
    const permutes = out === c && new Set(v.view.index).size === c;
    v.view.made = ctx.emit({ op: 'dense', kernel: { shape: [c, out], data: kernel }, activation: 'linear' }, [v.node], permutes ? 'ChannelShuffle' : 'ChannelSlice', undefined, v.view.origin);
  }
  return { kind: 'feat', node: v.view.made, shape: v.shape, nonneg: v.nonneg };
}

const feat = (node: string, shape: number[], nonneg = false): Feat => ({ kind: 'feat', node, shape, nonneg });

function unary(op: LeanOp, nonneg: boolean): Handler {
  return (ctx, [x]) => {
    const f = materialize(ctx, x);
    return feat(ctx.emit(op, [f.node]), f.shape, nonneg);
  };
}

/** A constant operand as one value per channel (scalar or per-channel broadcast), or undefined. */
function perChannel(c: Const, shape: number[]): Float32Array | undefined {
  const channels = shape[1]!;
  const n = c.data.length;
  if (n === 1) return new Float32Array(channels).fill(c.data[0]!);
  const padded = [...new Array<number>(Math.max(0, shape.length - c.dims.length)).fill(1), ...c.dims];
  const ok = padded.length === shape.length && padded.every((d, i) => (i === 1 ? d === channels : d === 1));
  return ok ? Float32Array.from(c.data) : undefined;
}

/** x ⊙ constant (scale or shift per channel) as an affine node; c ⊙ x for Sub/Div with the constant first. */
function withConstant(ctx: OpContext, op: string, f: Feat, c: Const, constFirst: boolean): Value {
  const v = perChannel(c, f.shape);
  if (!v) return ctx.refuse(`its constant of dims [${c.dims.join(', ')}] is not a scalar or a per-channel value for a feature map of shape [${f.shape.join(', ')}]`);
  const n = v.length;
  const ones = new Float32Array(n).fill(1);
  const w = (data: Float32Array): Weight => ({ shape: [n], data });
  let lean: LeanOp;
  if (op === 'Mul') lean = { op: 'scale', scale: w(v) };
  else if (op === 'Add') lean = { op: 'affine', scale: w(ones), shift: w(v) };
  else if (op === 'Sub') lean = constFirst ? { op: 'affine', scale: w(ones.map(() => -1)), shift: w(v) } : { op: 'affine', scale: w(ones), shift: w(v.map((x) => -x)) };
  else if (op === 'Div' && !constFirst) lean = { op: 'scale', scale: w(v.map((x) => 1 / x)) };
  else return ctx.refuse('divides a constant by a feature map');
  const positive = op === 'Mul' || op === 'Div' ? v.every((x) => x >= 0) : op === 'Add' && v.every((x) => x >= 0);
  return feat(ctx.emit(lean, [f.node]), f.shape, f.nonneg && positive && !constFirst);
}

/** The gate of a SiLU or hard swish: `Mul(x, sigmoid(x))` is one activation of x. */
function gated(ctx: OpContext, a: Feat, b: Feat): { act: ActivationName; x: Feat } | undefined {
  for (const [x, s] of [
    [a, b],
    [b, a],
  ] as const) {
    const op = ctx.leanOp(s.node);
    if (op.op !== 'activation' || ctx.leanInputs(s.node)[0] !== x.node) continue;
    if (op.activation === 'sigmoid') return { act: 'swish', x };
    if (op.activation === 'hard_sigmoid6') return { act: 'hard_swish', x };
  }
  return undefined;
}

function binary(ctx: OpContext, [a, b]: (Value | undefined)[]): Value {
  const op = ctx.node.opType;
  if (a?.kind === 'const') return withConstant(ctx, op, materialize(ctx, b), a.c, op === 'Sub' || op === 'Div');
  if (b?.kind === 'const') return withConstant(ctx, op, materialize(ctx, a), b.c, false);
  const x = materialize(ctx, a);
  const y = materialize(ctx, b);
  if (x.shape.length !== y.shape.length) ctx.refuse(`merges feature maps of shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}]; expected the same rank`);
  const shape = x.shape.map((d, i) => Math.max(d, y.shape[i]!));
  if (op === 'Mul') {
    const gate = gated(ctx, x, y);
    if (gate) return feat(ctx.emit({ op: 'activation', activation: gate.act }, [gate.x.node], gate.act === 'swish' ? 'SiLU' : 'HardSwish'), shape);
  }
  const merge = op === 'Add' ? 'add' : op === 'Mul' ? 'multiply' : op === 'Sub' ? 'subtract' : undefined;
  if (!merge) return ctx.refuse('divides feature maps, which the lean graph does not');
  return feat(ctx.emit({ op: 'merge', merge }, [x.node, y.node]), shape, x.nonneg && y.nonneg && merge !== 'subtract');
}

function activation(name: ActivationName, nonneg: boolean): Handler {
  return (ctx, [x]) => {
    const f = materialize(ctx, x);
    return feat(ctx.emit({ op: 'activation', activation: name }, [f.node]), f.shape, nonneg);
  };
}

function clip(ctx: OpContext, [x, lo, hi]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  const bound = (v: Value | undefined, attr: string, fallback: number) => (v?.kind === 'const' ? v.c.data[0]! : v ? ctx.refuse(`its ${attr} is not a constant`) : attrFloat(ctx.node, attr, fallback));
  const min = bound(lo, 'min', -Infinity);
  const max = bound(hi, 'max', Infinity);
  if (min !== 0) return ctx.refuse(`clips to [${min}, ${max}]; only a lower bound of 0 (ReLU, ReLU6) is supported`);
  const op: LeanOp = max === 6 ? { op: 'activation', activation: 'relu6' } : max === Infinity ? { op: 'activation', activation: 'relu' } : { op: 'clip', min: 0, max };
  return feat(ctx.emit(op, [f.node]), f.shape, true);
}

function hardSigmoid(ctx: OpContext, [x]: (Value | undefined)[]): Value {
  const alpha = attrFloat(ctx.node, 'alpha', 0.2);
  const beta = attrFloat(ctx.node, 'beta', 0.5);
  const name: ActivationName | undefined = Math.abs(alpha - 1 / 6) < 1e-6 && beta === 0.5 ? 'hard_sigmoid6' : Math.abs(alpha - 0.2) < 1e-6 && beta === 0.5 ? 'hard_sigmoid' : undefined;
  if (!name) return ctx.refuse(`has alpha ${alpha} and beta ${beta}; supported: alpha 1/6 (PyTorch's hardsigmoid) or 0.2, beta 0.5`);
  return activation(name, true)(ctx, [x]) as Value;
}

const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
/** The lean (batched NHWC) axis of an ONNX axis of a rank-4 or rank-2 map. */
function leanAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axisOf(axis, rank);
  if (rank === 2 && a === 1) return -1;
  if (rank === 4 && a >= 1) return [0, -1, 1, 2][a]!;
  return ctx.refuse(`works on axis ${axis} of a rank-${rank} feature map; expected the channel or a spatial axis`);
}

function concat(ctx: OpContext, inputs: (Value | undefined)[]): Value {
  const parts = inputs.map((v) => materialize(ctx, v));
  const rank = parts[0]!.shape.length;
  const a = axisOf(ctx.int('axis', 1), rank);
  const axis = leanAxis(ctx, a, rank);
  if (parts.some((p) => p.flatPerm)) ctx.refuse('concatenates flattened feature maps');
  const shape = [...parts[0]!.shape];
  shape[a] = parts.reduce((s, p) => s + p.shape[a]!, 0);
  return feat(
    ctx.emit(
      { op: 'concat', axis },
      parts.map((p) => p.node),
    ),
    shape,
    parts.every((p) => p.nonneg),
  );
}

/** Flatten / Reshape to [1, F] of a map: lean HWC order, the NCHW index of each element kept. */
function flatten(ctx: OpContext, f: Feat): Feat {
  if (f.shape.length === 2) return f;
  if (f.shape.length !== 4) return ctx.refuse(`flattens a feature map of shape [${f.shape.join(', ')}]`);
  const [, c, h, w] = f.shape as [number, number, number, number];
  const id = ctx.emit({ op: 'reshape', shape: [c * h * w] }, [f.node]);
  const out = feat(id, [1, c * h * w], f.nonneg);
  if (h * w > 1) out.flatPerm = Int32Array.from({ length: c * h * w }, (_, l) => (l % c) * h * w + Math.floor(l / c));
  return out;
}

/** The reshape's target with 0 (copy) and -1 (inferred) resolved. */
function target(shape: number[], from: number[], allowZero: boolean): number[] {
  const dims = shape.map((d, i) => (d === 0 && !allowZero ? from[i]! : d));
  const total = from.reduce((a, b) => a * b, 1);
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return dims.map((d) => (d === -1 ? total / known : d));
}

function reshape(ctx: OpContext, [x, s]: (Value | undefined)[]): Value {
  if (!x || x.kind !== 'feat') return ctx.refuse('reshapes a constant by a computed shape');
  if (s?.kind !== 'const') return ctx.refuse('its shape is not a constant (it depends on values, not shapes)');
  const to = target(ints(s.c), x.shape, ctx.int('allowzero', 0) === 1);
  const from = x.shape;
  const same = to.length === from.length && to.every((d, i) => d === from[i]);
  if (same) return x;
  if (to.length === 2 && to[0] === 1) return flatten(ctx, materialize(ctx, x));
  // Channels regrouped, spatial axes kept: [1, C, H, W] ↔ [1, g, C/g, H, W] (channel shuffle).
  const spatialKept = from.length >= 4 && to.length >= 4 && to[0] === 1 && to.slice(-2).every((d, i) => d === from.slice(-2)[i]);
  if (spatialKept && !x.flatPerm) {
    const index = x.view?.index ?? range(x.shape.slice(1, -2).reduce((a, b) => a * b, 1));
    return { kind: 'feat', node: x.node, shape: to, nonneg: x.nonneg, view: { index, origin: ctx.node } };
  }
  if (from.length === 4 && from[2] === 1 && from[3] === 1 && to.length === 4 && to[2] === 1 && to[3] === 1) return x;
  return ctx.refuse(`reshapes a feature map of shape [${from.join(', ')}] to [${to.join(', ')}], which has no NHWC equivalent here`);
}

function transpose(ctx: OpContext, [x]: (Value | undefined)[]): Value {
  const f = x as Feat;
  const perm = ctx.ints('perm') ?? f.shape.map((_, i) => f.shape.length - 1 - i);
  const rank = f.shape.length;
  if (perm.every((p, i) => p === i)) return f;
  const keeps = perm[0] === 0 && perm[rank - 2] === rank - 2 && perm[rank - 1] === rank - 1;
  if (!keeps || rank < 4) return ctx.refuse(`transposes a feature map of shape [${f.shape.join(', ')}] by [${perm.join(', ')}]; only permutations among channel groups (channel shuffle) are supported`);
  const mid = f.shape.slice(1, -2);
  const index = f.view?.index ?? range(mid.reduce((a, b) => a * b, 1));
  const moved = broadcastOp([{ dims: mid, data: Float64Array.from(index) }], (v) => v);
  const permuted = (() => {
    const p = perm.slice(1, -2).map((q) => q - 1);
    const dims = p.map((q) => mid[q]!);
    const strides = mid.map((_, i) => mid.slice(i + 1).reduce((a, b) => a * b, 1));
    return Int32Array.from({ length: index.length }, (_, i) => {
      let rest = i;
      let src = 0;
      for (let d = dims.length - 1; d >= 0; d--) {
        src += (rest % dims[d]!) * strides[p[d]!]!;
        rest = Math.floor(rest / dims[d]!);
      }
      return moved.data[src]!;
    });
  })();
  return { kind: 'feat', node: f.node, shape: perm.map((p) => f.shape[p]!), nonneg: f.nonneg, view: { index: permuted, origin: ctx.node } };
}

/** Slice of a feature map: channels (a view) or spatial crops (negative padding). */
function sliceFeat(ctx: OpContext, inputs: (Value | undefined)[]): Value {
  const x = inputs[0] as Feat;
  const num = (i: number, attr: string) => (inputs[i]?.kind === 'const' ? ints((inputs[i] as { c: Const }).c) : inputs[i] ? ctx.refuse(`its ${attr} is not a constant`) : ctx.ints(attr));
  const starts = num(1, 'starts')!;
  const ends = num(2, 'ends')!;
  const axes = (num(3, 'axes') ?? starts.map((_, i) => i)).map((a) => axisOf(a, x.shape.length));
  const steps = num(4, 'steps') ?? starts.map(() => 1);
  if (x.shape.length !== 4 || x.flatPerm) return ctx.refuse(`slices a feature map of shape [${x.shape.join(', ')}]`);
  const bounds = axes.map((a, k) => {
    const n = x.shape[a]!;
    const clampTo = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    return { a, b: clampTo(starts[k]!), e: clampTo(ends[k]!), s: steps[k]! };
  });
  if (bounds.some((b) => b.a === 0 || b.s < 1 || (b.a !== 1 && b.s !== 1))) return ctx.refuse('slices the batch, backwards, or with a spatial step; only channel slices and spatial crops are supported');
  const chan = bounds.find((b) => b.a === 1);
  const space = bounds.filter((b) => b.a >= 2);
  if (chan && space.length) return ctx.refuse('slices channels and space at once');
  if (chan) {
    const index = x.view?.index ?? range(x.shape[1]!);
    const picked = Int32Array.from({ length: Math.max(0, Math.ceil((chan.e - chan.b) / chan.s)) }, (_, i) => index[chan.b + i * chan.s]!);
    const shape = [...x.shape];
    shape[1] = picked.length;
    return { kind: 'feat', node: x.node, shape, nonneg: x.nonneg, view: { index: picked, origin: ctx.node } };
  }
  const f = materialize(ctx, x);
  const pads: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ];
  const shape = [...f.shape];
  for (const b of space) {
    pads[b.a - 2] = [-b.b, -(f.shape[b.a]! - b.e)];
    shape[b.a] = b.e - b.b;
  }
  return feat(ctx.emit({ op: 'pad', pads }, [f.node], 'Slice'), shape, f.nonneg);
}

function split(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = inputs[0] as Feat;
  const axis = axisOf(ctx.int('axis', 0), x.shape.length);
  if (axis !== 1 || x.shape.length !== 4) return ctx.refuse(`splits a feature map along axis ${axis}; only channel splits are supported`);
  const count = ctx.node.output.length;
  const given = inputs[1]?.kind === 'const' ? ints(inputs[1].c) : ctx.ints('split');
  const sizes = given ?? new Array<number>(count).fill(x.shape[1]! / count);
  const index = x.view?.index ?? range(x.shape[1]!);
  let at = 0;
  return sizes.map((n) => {
    const shape = [...x.shape];
    shape[1] = n;
    const v: Feat = { kind: 'feat', node: x.node, shape, nonneg: x.nonneg, view: { index: index.slice(at, at + n), origin: ctx.node } };
    at += n;
    return v;
  });
}

function pad(ctx: OpContext, [x, p, value, axesIn]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  if (attrString(ctx.node, 'mode', 'constant') !== 'constant') return ctx.refuse(`pads with mode "${attrString(ctx.node, 'mode', 'constant')}"; only zero padding is supported`);
  if (value && (value.kind !== 'const' || value.c.data[0] !== 0)) return ctx.refuse('pads with a value other than 0');
  const given = p ? (p.kind === 'const' ? ints(p.c) : ctx.refuse('its pads are not constants')) : ctx.ints('pads')!;
  const rank = f.shape.length;
  const axes = axesIn?.kind === 'const' ? ints(axesIn.c).map((a) => axisOf(a, rank)) : f.shape.map((_, i) => i);
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => {
    begin[a] = given[k]!;
    end[a] = given[k + axes.length]!;
  });
  if (rank !== 4 || begin[0] || end[0] || begin[1] || end[1]) return ctx.refuse(`pads [${given.join(', ')}]; only spatial padding of an [N, C, H, W] map is supported`);
  const shape = f.shape.map((d, i) => d + begin[i]! + end[i]!);
  return feat(
    ctx.emit(
      {
        op: 'pad',
        pads: [
          [begin[2]!, end[2]!],
          [begin[3]!, end[3]!],
        ],
      },
      [f.node],
    ),
    shape,
    f.nonneg,
  );
}

/** Gemm (A · Bᵀ + C, as nn.Linear exports) and MatMul by a constant: a dense node. */
function dense(ctx: OpContext, [a, b, c]: (Value | undefined)[]): Value {
  const x = materialize(ctx, a);
  if (x.shape.length !== 2) return ctx.refuse(`multiplies a feature map of shape [${x.shape.join(', ')}]; expected [N, features]`);
  if (b?.kind !== 'const' || b.c.dims.length !== 2) return ctx.refuse('its weight is not a constant matrix');
  const gemm = ctx.node.opType === 'Gemm';
  if (gemm && ctx.int('transA', 0) !== 0) return ctx.refuse('has transA set');
  const transB = gemm && ctx.int('transB', 0) === 1;
  const alpha = gemm ? attrFloat(ctx.node, 'alpha', 1) : 1;
  const beta = gemm ? attrFloat(ctx.node, 'beta', 1) : 1;
  const [r, k] = b.c.dims as [number, number];
  const [inF, outF] = transB ? [k, r] : [r, k];
  if (inF !== x.shape[1]) return ctx.refuse(`has a weight for ${inF} inputs but receives ${x.shape[1]}`);
  const perm = x.flatPerm;
  const kernel = new Float32Array(inF * outF);
  for (let l = 0; l < inF; l++) {
    const row = perm ? perm[l]! : l;
    for (let m = 0; m < outF; m++) kernel[l * outF + m] = alpha * b.c.data[transB ? m * k + row : row * k + m]!;
  }
  let bias: Weight | undefined;
  if (c) {
    if (c.kind !== 'const' || (c.c.data.length !== outF && c.c.data.length !== 1)) return ctx.refuse('its bias is not a constant vector');
    bias = { shape: [outF], data: Float32Array.from({ length: outF }, (_, m) => beta * c.c.data[c.c.data.length === 1 ? 0 : m]!) };
  }
  return feat(ctx.emit({ op: 'dense', kernel: { shape: [inF, outF], data: kernel }, ...(bias ? { bias } : {}), activation: 'linear' }, [x.node]), [1, outF]);
}

function softmax(ctx: OpContext, [x]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  const rank = f.shape.length;
  const axis = axisOf(ctx.int('axis', ctx.opset >= 13 ? -1 : 1), rank);
  if (axis !== 1 || f.flatPerm) return ctx.refuse(`takes the softmax over axis ${axis} of shape [${f.shape.join(', ')}]; expected the channel axis`);
  return feat(ctx.emit({ op: 'softmax', axis: -1 }, [f.node]), f.shape, true);
}

function batchNorm(ctx: OpContext, [x, scale, bias, mean, variance]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  const params = [scale, bias, mean, variance];
  if (params.some((p) => p?.kind !== 'const')) return ctx.refuse('its parameters are not constants');
  const [g, b, m, v] = params.map((p) => (p as { c: Const }).c.data);
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const s = Float32Array.from(g!, (gi, i) => gi / Math.sqrt(v![i]! + eps));
  const shift = Float32Array.from(b!, (bi, i) => bi - m![i]! * s[i]!);
  return feat(ctx.emit({ op: 'affine', scale: { shape: [s.length], data: s }, shift: { shape: [s.length], data: shift } }, [f.node]), f.shape);
}

function globalPool(reduce: 'max' | 'avg'): Handler {
  return (ctx, [x]) => {
    const f = materialize(ctx, x);
    if (f.shape.length !== 4) return ctx.refuse(`pools a feature map of shape [${f.shape.join(', ')}]`);
    return feat(ctx.emit({ op: 'globalPool', reduce, keepDims: true }, [f.node]), [1, f.shape[1]!, 1, 1], f.nonneg);
  };
}

/** ReduceMean over the spatial axes (`x.mean([2, 3])`): a global average pool. */
function reduceMean(ctx: OpContext, [x, axesIn]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  const axes = (axesIn?.kind === 'const' ? ints(axesIn.c) : (ctx.ints('axes') ?? [])).map((a) => axisOf(a, f.shape.length)).sort();
  if (f.shape.length !== 4 || axes.join() !== '2,3') return ctx.refuse(`averages axes [${axes.join(', ')}] of shape [${f.shape.join(', ')}]; only the spatial axes [2, 3] are supported`);
  const keep = ctx.int('keepdims', 1) === 1;
  return feat(ctx.emit({ op: 'globalPool', reduce: 'avg', keepDims: keep }, [f.node]), keep ? [1, f.shape[1]!, 1, 1] : [1, f.shape[1]!], f.nonneg);
}

/** Squeeze / Unsqueeze between [1, C, 1, 1] and [1, C]. */
function squeeze(ctx: OpContext, [x, axesIn]: (Value | undefined)[]): Value {
  const f = materialize(ctx, x);
  const axes = axesIn?.kind === 'const' ? ints(axesIn.c) : ctx.ints('axes');
  const c = f.shape[1]!;
  if (
    ctx.node.opType === 'Squeeze' &&
    f.shape.length === 4 &&
    f.shape[2] === 1 &&
    f.shape[3] === 1 &&
    (!axes ||
      axes
        .map((a) => axisOf(a, 4))
        .sort()
        .join() === '2,3')
  ) {
    return feat(ctx.emit({ op: 'reshape', shape: [c] }, [f.node]), [1, c], f.nonneg);
  }
  if (
    ctx.node.opType === 'Unsqueeze' &&
    f.shape.length === 2 &&
    axes
      ?.map((a) => axisOf(a, 4))
      .sort()
      .join() === '2,3'
  ) {
    return feat(ctx.emit({ op: 'reshape', shape: [1, 1, c] }, [f.node]), [1, c, 1, 1], f.nonneg);
  }
  return ctx.refuse(`changes the rank of a feature map of shape [${f.shape.join(', ')}]`);
}

const identity: Handler = (_ctx, [x]) => x!;

export const FEATURE_OPS: Record<string, Handler> = {
  Conv: (ctx, inputs) => convOp(ctx, materialize(ctx, inputs[0]), inputs[1], inputs[2]),
  MaxPool: (ctx, [x]) => poolOps(ctx, materialize(ctx, x), 'max'),
  AveragePool: (ctx, [x]) => poolOps(ctx, materialize(ctx, x), 'avg'),
  BatchNormalization: batchNorm,
  Relu: activation('relu', true),
  Sigmoid: activation('sigmoid', true),
  Tanh: activation('tanh', false),
  HardSigmoid: hardSigmoid,
  HardSwish: activation('hard_swish', false),
  LeakyRelu: (ctx, [x]) => unary({ op: 'leakyRelu', alpha: attrFloat(ctx.node, 'alpha', 0.01) }, false)(ctx, [x]),
  Clip: clip,
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Concat: concat,
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  ReduceMean: reduceMean,
  Flatten: (ctx, [x]) => {
    const f = materialize(ctx, x);
    if (axisOf(ctx.int('axis', 1), f.shape.length) !== 1) return ctx.refuse('flattens from an axis other than 1');
    return flatten(ctx, f);
  },
  Reshape: reshape,
  Transpose: transpose,
  Slice: sliceFeat,
  Split: split,
  Pad: pad,
  Gemm: dense,
  MatMul: dense,
  Softmax: softmax,
  Squeeze: squeeze,
  Unsqueeze: squeeze,
  Dropout: identity,
  Identity: identity,
};
