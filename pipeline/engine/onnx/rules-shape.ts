/**
 * Rules for the structural ops: identity, element-wise merges, concatenation, padding/cropping and
 * reshape. Their gradients route dy back: merges by the derivative of each input (sum over the
 * dimensions an input was broadcast along), concat by a Split, pad by the opposite pad, reshape by
 * the reverse reshape (in Keras layout, since Flatten orders elements NHWC).
 */
import type { LeanOp } from '../ops.ts';
import type { GraphBuilder } from './builder.ts';
import { fromKeras, isImage, onnxAxis, reshapeTo, toKeras, UnsupportedOpError, type Rule, type Val } from './rule.ts';

type Merge = Extract<LeanOp, { op: 'merge' }>;

/** Dimensions of a stored tensor without batch (images are NCHW). */
const stored = (shape: number[]) => (isImage(shape) ? [shape[2]!, shape[0]!, shape[1]!] : shape);

function broadcastShape(ins: Val[]): number[] {
  const rank = ins[0]!.shape.length;
  if (ins.some((v) => v.shape.length !== rank)) throw new UnsupportedOpError(`merge of inputs with different ranks: ${ins.map((v) => `[${v.shape}]`).join(', ')}`);
  return ins[0]!.shape.map((_, i) => Math.max(...ins.map((v) => v.shape[i]!)));
}

/** A gradient of the merged shape summed down to an input's shape (where it was broadcast). */
function unbroadcast(b: GraphBuilder, grad: string, to: number[], from: number[]): string {
  const s = stored(to);
  const f = stored(from);
  const axes = s.flatMap((d, i) => (d === 1 && f[i] !== 1 ? [i + 1] : []));
  return axes.length ? b.op1('ReduceSum', [grad, b.ints(axes)], { keepdims: 1 }) : grad;
}

/** Max/min of several inputs as a chain of pairwise ops, keeping each partial result. */
function chain(b: GraphBuilder, type: 'Max' | 'Min', ins: Val[]): string[] {
  const partial = [ins[0]!.name];
  for (const v of ins.slice(1)) partial.push(b.op1(type, [partial.at(-1)!, v.name]));
  return partial;
}

/**
 * The chain's gradient, as TF.js differentiates maximum(a, b): a gets dy where a ≥ b, b where
 * a < b (minimum: a where a ≤ b).
 */
function chainGrad(b: GraphBuilder, merge: 'maximum' | 'minimum', ins: Val[], partial: string[], dy: string): string[] {
  const grads: string[] = new Array(ins.length);
  let g = dy;
  for (let k = ins.length - 1; k >= 1; k--) {
    const keepA = b.op1(merge === 'maximum' ? 'GreaterOrEqual' : 'LessOrEqual', [partial[k - 1]!, ins[k]!.name]);
    const zero = b.scalar(0);
    grads[k] = b.op1('Where', [keepA, zero, g]);
    g = b.op1('Where', [keepA, g, zero]);
  }
  grads[0] = g;
  return grads;
}

const merge: Rule<Merge> = {
  forward(b, op, ins) {
    const shape = broadcastShape(ins);
    const names = ins.map((v) => v.name);
    const n = ins.length;
    if (op.merge === 'maximum' || op.merge === 'minimum') {
      const partial = chain(b, op.merge === 'maximum' ? 'Max' : 'Min', ins);
      return { out: { name: partial.at(-1)!, shape }, saved: Object.fromEntries(partial.map((p, i) => [`p${i}`, p])) };
    }
    const name = {
      add: () => b.op1('Sum', names),
      subtract: () => b.op1('Sub', names),
      multiply: () => names.reduce((a, c) => b.op1('Mul', [a, c])),
      average: () => b.op1('Mul', [b.op1('Sum', names), b.scalar(1 / n)]),
    }[op.merge]();
    return { out: { name, shape } };
  },
  backward(b, op, ins, fwd, dy) {
    const n = ins.length;
    const per: string[] = {
      add: () => ins.map(() => dy),
      average: () => ins.map(() => b.op1('Mul', [dy, b.scalar(1 / n)])),
      subtract: () => [dy, b.op1('Neg', [dy])],
      multiply: () => ins.map((_, i) => ins.reduce((a, v, j) => (j === i ? a : b.op1('Mul', [a, v.name])), dy)),
      maximum: () =>
        chainGrad(
          b,
          'maximum',
          ins,
          ins.map((_, i) => fwd.saved![`p${i}`]!),
          dy,
        ),
      minimum: () =>
        chainGrad(
          b,
          'minimum',
          ins,
          ins.map((_, i) => fwd.saved![`p${i}`]!),
          dy,
        ),
    }[op.merge]();
    return per.map((g, i) => unbroadcast(b, g, ins[i]!.shape, fwd.out.shape));
  },
};

const concat: Rule<Extract<LeanOp, { op: 'concat' }>> = {
  forward(b, op, ins) {
    const axis = onnxAxis(op.axis, ins[0]!.shape);
    const k = (op.axis < 0 ? op.axis + ins[0]!.shape.length + 1 : op.axis) - 1;
    const shape = ins[0]!.shape.map((d, i) => (i === k ? ins.reduce((s, v) => s + v.shape[i]!, 0) : d));
    return {
      out: {
        name: b.op1(
          'Concat',
          ins.map((v) => v.name),
          { axis },
        ),
        shape,
      },
    };
  },
  backward(b, op, ins, _fwd, dy) {
    const k = (op.axis < 0 ? op.axis + ins[0]!.shape.length + 1 : op.axis) - 1;
    return b.op('Split', [dy, b.ints(ins.map((v) => v.shape[k]!))], { axis: onnxAxis(op.axis, ins[0]!.shape) }, ins.length);
  },
};

/** ONNX Pad of a stored image by [[top, bottom], [left, right]] (negative crops), sign flipped when `undo`. */
function padImage(b: GraphBuilder, x: string, [[t, bo], [l, r]]: [[number, number], [number, number]], undo: boolean): string {
  const s = undo ? -1 : 1;
  return b.op1('Pad', [x, b.ints([0, 0, s * t, s * l, 0, 0, s * bo, s * r])]);
}

const pad: Rule<Extract<LeanOp, { op: 'pad' }>> = {
  forward(b, op, [x]) {
    if (!isImage(x!.shape)) throw new UnsupportedOpError(`pad needs an image input, got shape [${x!.shape}]`);
    const [h, w, c] = x!.shape as [number, number, number];
    const shape = [h + op.pads[0][0] + op.pads[0][1], w + op.pads[1][0] + op.pads[1][1], c];
    return { out: { name: padImage(b, x!.name, op.pads, false), shape } };
  },
  backward: (b, op, _ins, _fwd, dy) => [padImage(b, dy, op.pads, true)],
};

const reshape: Rule<Extract<LeanOp, { op: 'reshape' }>> = {
  forward(b, op, [x]) {
    const total = x!.shape.reduce((a, d) => a * d, 1);
    const known = op.shape.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
    const shape = op.shape.map((d) => (d === -1 ? total / known : d));
    if (shape.reduce((a, d) => a * d, 1) !== total) throw new UnsupportedOpError(`cannot reshape [${x!.shape}] to [${op.shape}]`);
    return { out: { name: fromKeras(b, reshapeTo(b, toKeras(b, x!), shape), shape), shape } };
  },
  backward: (b, _op, [x], fwd, dy) => [fromKeras(b, reshapeTo(b, toKeras(b, { name: dy, shape: fwd.out.shape }), x!.shape), x!.shape)],
};

const identity: Rule<Extract<LeanOp, { op: 'identity' | 'input' }>> = {
  forward: (_b, _op, [x]) => ({ out: x! }),
  backward: (_b, _op, _ins, _fwd, dy) => [dy],
};

export const SHAPE_RULES = { merge, concat, pad, reshape, identity, input: identity } as const;
