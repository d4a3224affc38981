/**
 * Each ONNX op over feature maps as lean nodes (NCHW there, NHWC here): element-wise ops and
 * activations (SiLU and hard swish from their Mul), merges, concat, pads, dense layers, pools;
 * reshapes and channel views in `views.ts`, conv and pool windows in `windows.ts`.
 */
import type { ActivationName, LeanOp, Weight } from '../../engine/ops.ts';
import { ints } from './fold.ts';
import { attrFloat, attrString, type Const } from './proto.ts';
import { axisOf, feat, materialize, type Feat, type Handler, type OpContext, type Value } from './values.ts';
import { flatten, reshape, sliceFeat, split, transpose } from './views.ts';
import { convOp, poolOps } from './windows.ts';

export { materialize, type Feat, type OpContext, type Value };

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
