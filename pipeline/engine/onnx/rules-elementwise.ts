/**
 * Rules for element-wise and per-position ops: activations, leaky ReLU, clip, softmax and layer
 * normalization (written out from ONNX primitives, with its closed-form gradient
 * dx = (g − mean(g) − x̂·mean(g·x̂)) / σ, g = dy·γ).
 */
import type { LeanOp } from '../ops.ts';
import { ACTIVATIONS, reluCap, reluMask } from './activations.ts';
import type { GraphBuilder } from './builder.ts';
import { channelConstant, onnxAxis, type Rule } from './rule.ts';

const activation: Rule<Extract<LeanOp, { op: 'activation' }>> = {
  forward(b, op, [x]) {
    const out = { name: ACTIVATIONS[op.activation].fn(b, x!.name), shape: x!.shape };
    const cap = reluCap(op.activation);
    return cap === undefined ? { out } : { out, relu: { pre: x!, cap } };
  },
  backward: (b, op, [x], fwd, dy, atPre) => [atPre ? dy : ACTIVATIONS[op.activation].grad(b, x!.name, fwd.out.name, dy)],
};

const leakyRelu: Rule<Extract<LeanOp, { op: 'leakyRelu' }>> = {
  forward: (b, op, [x]) => ({ out: { name: b.op1('LeakyRelu', [x!.name], { alpha: { f: op.alpha } }), shape: x!.shape } }),
  backward: (b, op, [x], _fwd, dy) => [b.op1('Where', [b.op1('Greater', [x!.name, b.scalar(0)]), dy, b.op1('Mul', [dy, b.scalar(op.alpha)])])],
};

const clip: Rule<Extract<LeanOp, { op: 'clip' }>> = {
  forward(b, op, [x]) {
    const bounds = Number.isFinite(op.max) ? [b.scalar(op.min), b.scalar(op.max)] : [b.scalar(op.min)];
    const name = op.min === 0 && op.max === Infinity ? b.op1('Relu', [x!.name]) : b.op1('Clip', [x!.name, ...bounds]);
    const out = { name, shape: x!.shape };
    return op.min === 0 ? { out, relu: { pre: x!, cap: op.max } } : { out };
  },
  backward(b, op, [x], fwd, dy, atPre) {
    if (atPre) return [dy];
    if (op.min === 0) return [reluMask(b, fwd.out.name, dy, op.max)];
    // TF.js clipByValue: the gradient passes where min ≤ x ≤ max.
    let inside = b.op1('GreaterOrEqual', [x!.name, b.scalar(op.min)]);
    if (Number.isFinite(op.max)) inside = b.op1('And', [inside, b.op1('LessOrEqual', [x!.name, b.scalar(op.max)])]);
    return [b.op1('Where', [inside, dy, b.scalar(0)])];
  },
};

const softmax: Rule<Extract<LeanOp, { op: 'softmax' }>> = {
  forward: (b, op, [x]) => ({ out: { name: b.op1('Softmax', [x!.name], { axis: onnxAxis(op.axis, x!.shape) }), shape: x!.shape } }),
  backward(b, op, [x], fwd, dy) {
    const y = fwd.out.name;
    const dot = b.op1('ReduceSum', [b.op1('Mul', [dy, y]), b.ints([onnxAxis(op.axis, x!.shape)])], { keepdims: 1 });
    return [b.op1('Mul', [y, b.op1('Sub', [dy, dot])])];
  },
};

type LayerNorm = Extract<LeanOp, { op: 'layerNorm' }>;
const mean = (b: GraphBuilder, x: string, axis: number) => b.op1('ReduceMean', [x], { axes: [axis], keepdims: 1 });

const layerNorm: Rule<LayerNorm> = {
  forward(b, op, [x]) {
    const axis = onnxAxis(-1, x!.shape);
    const centred = b.op1('Sub', [x!.name, mean(b, x!.name, axis)]);
    const variance = mean(b, b.op1('Mul', [centred, centred]), axis);
    const inv = b.op1('Reciprocal', [b.op1('Sqrt', [b.op1('Add', [variance, b.scalar(op.epsilon)])])]);
    const xhat = b.op1('Mul', [centred, inv]);
    let y = op.gamma ? b.op1('Mul', [xhat, channelConstant(b, op.gamma.data, x!.shape)]) : xhat;
    if (op.beta) y = b.op1('Add', [y, channelConstant(b, op.beta.data, x!.shape)]);
    return { out: { name: y, shape: x!.shape }, saved: { xhat, inv } };
  },
  backward(b, op, [x], fwd, dy) {
    const axis = onnxAxis(-1, x!.shape);
    const { xhat, inv } = fwd.saved as { xhat: string; inv: string };
    const g = op.gamma ? b.op1('Mul', [dy, channelConstant(b, op.gamma.data, x!.shape)]) : dy;
    const proj = b.op1('Mul', [xhat, mean(b, b.op1('Mul', [g, xhat]), axis)]);
    return [b.op1('Mul', [b.op1('Sub', [b.op1('Sub', [g, mean(b, g, axis)]), proj]), inv])];
  },
};

export const ELEMENTWISE_RULES = { activation, leakyRelu, clip, softmax, layerNorm } as const;
