/**
 * Constant folding of the shape arithmetic exporters write (`x.view(x.size(0), -1)`, channel
 * shuffle's group sizes, TF-style "same" padding computed from `x.shape`): every op here runs on
 * constants only, whose sizes are known once the input's shape is, so a shape subgraph becomes the
 * constant its consumer (Reshape, Pad, Slice) needs. Outputs are capped in size.
 */
import type { Const } from './proto.ts';

/** Largest constant a folded op may make (elements). */
const MAX_FOLDED_ELEMENTS = 2 ** 24;

export class FoldError extends Error {}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const stridesOf = (dims: number[]) => dims.map((_, i) => size(dims.slice(i + 1)));

function make(dims: number[], float: boolean, fill: (i: number) => number): Const {
  const n = size(dims);
  if (!Number.isSafeInteger(n) || n > MAX_FOLDED_ELEMENTS) throw new FoldError(`it would make a constant of dims [${dims.join(', ')}]`);
  const data = float ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = fill(i);
  return { dims, data };
}

const isFloat = (c: Const) => c.data instanceof Float32Array;
export const ints = (c: Const): number[] => Array.from(c.data);

/** Multi-index of flat index i (row-major). */
function unravel(i: number, dims: number[]): number[] {
  const out = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    out[d] = i % dims[d]!;
    i = Math.floor(i / dims[d]!);
  }
  return out;
}

/** numpy broadcasting of an element-wise op. */
export function broadcastOp(inputs: Const[], f: (...v: number[]) => number, float = inputs.some(isFloat)): Const {
  const rank = Math.max(...inputs.map((c) => c.dims.length));
  const padded = inputs.map((c) => [...new Array<number>(rank - c.dims.length).fill(1), ...c.dims]);
  const dims = Array.from({ length: rank }, (_, d) => {
    const sizes = padded.map((p) => p[d]!);
    const big = Math.max(...sizes);
    if (sizes.some((s) => s !== 1 && s !== big)) throw new FoldError(`dims ${padded.map((p) => `[${p.join(', ')}]`).join(' and ')} do not broadcast`);
    return sizes.includes(0) ? 0 : big;
  });
  const strides = padded.map((p) => {
    const s = stridesOf(p);
    return p.map((n, d) => (n === 1 ? 0 : s[d]!));
  });
  return make(dims, float, (i) => {
    const idx = unravel(i, dims);
    return f(...inputs.map((c, k) => c.data[idx.reduce((a, x, d) => a + x * strides[k]![d]!, 0)]!));
  });
}

const BINARY: Record<string, (a: number, b: number, float: boolean) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, float) => (float ? a / b : Math.trunc(a / b)),
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b),
  Min: (a, b) => Math.min(a, b),
  Max: (a, b) => Math.max(a, b),
  Mod: (a, b) => a - b * Math.floor(a / b),
  Pow: (a, b) => a ** b,
};

const UNARY: Record<string, (a: number) => number> = { Neg: (a) => -a, Floor: Math.floor, Ceil: Math.ceil, Sqrt: Math.sqrt, Abs: Math.abs, Not: (a) => Number(!a) };

/** Ops that fold when all their inputs are constants (and only then). */
export const FOLD_OPS = new Set([
  ...Object.keys(BINARY),
  ...Object.keys(UNARY),
  'Constant',
  'Shape',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Slice',
  'Cast',
  'Concat',
  'ConstantOfShape',
  'Range',
  'Expand',
  'Where',
  'Reshape',
  'Transpose',
  'Identity',
  'Dropout',
  'ReduceProd',
]);

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Parameters of a fold: attributes and constant inputs as the op's opset defines them. */
export interface FoldArgs {
  op: string;
  inputs: (Const | undefined)[];
  attr: {
    axis?: number;
    axes?: number[];
    perm?: number[];
    to?: number;
    keepdims?: number;
    starts?: number[];
    ends?: number[];
    value?: Const;
  };
}

/** Float types of ONNX's Cast `to`: FLOAT, FLOAT16, DOUBLE, BFLOAT16. */
const FLOAT_TYPES = new Set([1, 10, 11, 16]);

function slice(x: Const, starts: number[], ends: number[], axes: number[], steps: number[]): Const {
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const count = [...x.dims];
  axes.forEach((a0, k) => {
    const a = normAxis(a0, x.dims.length);
    const n = x.dims[a]!;
    const s = steps[k] ?? 1;
    if (s === 0) throw new FoldError('a Slice step of 0');
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    const b = s > 0 ? clampIdx(starts[k]!, 0, n) : clampIdx(starts[k]!, -1, n - 1);
    const e = s > 0 ? clampIdx(ends[k]!, 0, n) : clampIdx(ends[k]!, -1, n - 1);
    begin[a] = b;
    step[a] = s;
    count[a] = Math.max(0, Math.ceil((e - b) / s));
  });
  const strides = stridesOf(x.dims);
  return make(count, isFloat(x), (i) => x.data[unravel(i, count).reduce((acc, v, d) => acc + (begin[d]! + v * step[d]!) * strides[d]!, 0)]!);
}

/** Runs one op on constants (throws FoldError when it cannot). */
export function fold({ op, inputs, attr }: FoldArgs): Const {
  const x = inputs[0]!;
  if (BINARY[op]) {
    const float = inputs.some((c) => c && isFloat(c));
    const f = BINARY[op]!;
    return broadcastOp([x, inputs[1]!], (a, b) => f(a, b, float), float && !['Equal', 'Less', 'Greater'].includes(op));
  }
  if (UNARY[op]) return broadcastOp([x], UNARY[op]!, isFloat(x));
  switch (op) {
    case 'Identity':
    case 'Dropout':
      return x;
    case 'Cast':
      return make(x.dims, FLOAT_TYPES.has(attr.to ?? 1), (i) => (FLOAT_TYPES.has(attr.to ?? 1) ? x.data[i]! : Math.trunc(x.data[i]!)));
    case 'Gather': {
      const idx = inputs[1]!;
      const axis = normAxis(attr.axis ?? 0, x.dims.length);
      const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
      const outer = size(x.dims.slice(0, axis));
      const inner = size(x.dims.slice(axis + 1));
      const n = x.dims[axis]!;
      return make(dims, isFloat(x), (i) => {
        const o = Math.floor(i / (idx.data.length * inner));
        const k = Math.floor(i / inner) % idx.data.length;
        const j = idx.data[k]! < 0 ? idx.data[k]! + n : idx.data[k]!;
        if (o >= outer || j < 0 || j >= n) throw new FoldError(`Gather index ${idx.data[k]} is out of range for ${n}`);
        return x.data[(o * n + j) * inner + (i % inner)]!;
      });
    }
    case 'Unsqueeze': {
      const axes = (attr.axes ?? ints(inputs[1]!)).map((a) => normAxis(a, x.dims.length + (attr.axes ?? ints(inputs[1]!)).length)).sort((a, b) => a - b);
      const dims = [...x.dims];
      for (const a of axes) dims.splice(a, 0, 1);
      return { dims, data: x.data };
    }
    case 'Squeeze': {
      const given = attr.axes ?? (inputs[1] ? ints(inputs[1]) : undefined);
      const axes = given?.map((a) => normAxis(a, x.dims.length));
      return { dims: x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)), data: x.data };
    }
    case 'Slice': {
      const starts = attr.starts ?? ints(inputs[1]!);
      const ends = attr.ends ?? ints(inputs[2]!);
      const axes = attr.axes ?? (inputs[3] ? ints(inputs[3]) : starts.map((_, i) => i));
      const steps = inputs[4] ? ints(inputs[4]) : starts.map(() => 1);
      return slice(x, starts, ends, axes, steps);
    }
    case 'Concat': {
      const parts = inputs.filter((c): c is Const => !!c);
      const axis = normAxis(attr.axis ?? 0, x.dims.length);
      const dims = [...x.dims];
      dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
      const inner = size(dims.slice(axis + 1));
      const float = parts.some(isFloat);
      return make(dims, float, (i) => {
        let along = Math.floor(i / inner) % dims[axis]!;
        const o = Math.floor(i / (inner * dims[axis]!));
        for (const p of parts) {
          if (along < p.dims[axis]!) return p.data[(o * p.dims[axis]! + along) * inner + (i % inner)]!;
          along -= p.dims[axis]!;
        }
        return 0;
      });
    }
    case 'ConstantOfShape': {
      const value = attr.value ?? { dims: [1], data: Float32Array.of(0) };
      return make(ints(x), isFloat(value), () => value.data[0]!);
    }
    case 'Range': {
      const [start, limit, delta] = inputs.map((c) => c!.data[0]!) as [number, number, number];
      const n = Math.max(0, Math.ceil((limit - start) / delta));
      return make([n], isFloat(x), (i) => start + i * delta);
    }
    case 'Expand': {
      const shape = ints(inputs[1]!);
      return broadcastOp([x, make(shape, false, () => 0)], (a) => a, isFloat(x));
    }
    case 'Where':
      return broadcastOp([x, inputs[1]!, inputs[2]!], (c, a, b) => (c ? a : b), isFloat(inputs[1]!));
    case 'Reshape': {
      const shape = ints(inputs[1]!).map((d, i) => (d === 0 ? x.dims[i]! : d));
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const dims = shape.map((d) => (d === -1 ? x.data.length / known : d));
      if (size(dims) !== x.data.length) throw new FoldError(`cannot reshape [${x.dims.join(', ')}] to [${shape.join(', ')}]`);
      return { dims, data: x.data };
    }
    case 'Transpose': {
      const perm = attr.perm ?? x.dims.map((_, i) => x.dims.length - 1 - i);
      const dims = perm.map((p) => x.dims[p]!);
      const strides = stridesOf(x.dims);
      return make(dims, isFloat(x), (i) => x.data[unravel(i, dims).reduce((a, v, d) => a + v * strides[perm[d]!]!, 0)]!);
    }
    case 'ReduceProd': {
      if (x.dims.length !== 1 || (attr.keepdims ?? 1) !== 0) throw new FoldError('ReduceProd only of a vector, to a scalar');
      return make([], isFloat(x), () => Array.from(x.data).reduce((a, b) => a * b, 1));
    }
    default:
      throw new FoldError(`${op} does not fold`);
  }
}
