/**
 * Element-wise activations as ONNX ops, each with its derivative written out as ONNX ops (the
 * backward pass of the compiled graph). Gradients of ReLU-like functions are masks of the output
 * (y > 0, or y·(cap − y) > 0), applied with `Where`: ORT's `Sign` and `Cast` are scalar loops, several
 * times slower than its comparison and `Where` kernels on the large early feature maps.
 * Definitions follow ops.ts: `hard_sigmoid` is TF.js/Keras 2's clip(0.2x + 0.5, 0, 1), `hard_sigmoid6`
 * Keras 3's relu6(x + 3)/6.
 */
import type { ActivationName } from '../ops.ts';
import type { GraphBuilder } from './builder.ts';

type Fn = (b: GraphBuilder, x: string) => string;
type Grad = (b: GraphBuilder, x: string, y: string, dy: string) => string;

const GELU_K = Math.sqrt(2 / Math.PI);
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

const mul = (b: GraphBuilder, ...xs: string[]) => xs.reduce((a, c) => b.op1('Mul', [a, c]));
const add = (b: GraphBuilder, a: string, c: string) => b.op1('Add', [a, c]);
const sub = (b: GraphBuilder, a: string, c: string) => b.op1('Sub', [a, c]);
const s = (b: GraphBuilder, v: number) => b.scalar(v);

/** dy where the output y lies strictly inside (0, cap): relu (cap ∞), relu6, any clip at 0. */
export function reluMask(b: GraphBuilder, y: string, dy: string, cap: number): string {
  const inside = Number.isFinite(cap) ? mul(b, y, sub(b, s(b, cap), y)) : y;
  return b.op1('Where', [b.op1('Greater', [inside, s(b, 0)]), dy, s(b, 0)]);
}

/** Φ(x) + x·φ(x): the derivative of x·Φ(x). */
function geluGrad(b: GraphBuilder, x: string): string {
  const cdf = mul(b, s(b, 0.5), add(b, s(b, 1), b.op1('Erf', [mul(b, x, s(b, Math.SQRT1_2))])));
  const pdf = mul(b, s(b, 1 / Math.sqrt(2 * Math.PI)), b.op1('Exp', [mul(b, x, x, s(b, -0.5))]));
  return add(b, cdf, mul(b, x, pdf));
}

/** d/dx of 0.5·x·(1 + tanh(k(x + 0.044715x³))). */
function geluTanhGrad(b: GraphBuilder, x: string): string {
  const x2 = mul(b, x, x);
  const t = b.op1('Tanh', [mul(b, s(b, GELU_K), add(b, x, mul(b, s(b, 0.044715), x2, x)))]);
  const du = mul(b, s(b, GELU_K), add(b, s(b, 1), mul(b, s(b, 3 * 0.044715), x2)));
  const dt = mul(b, sub(b, s(b, 1), mul(b, t, t)), du);
  return add(b, mul(b, s(b, 0.5), add(b, s(b, 1), t)), mul(b, s(b, 0.5), x, dt));
}

function geluTanh(b: GraphBuilder, x: string): string {
  const inner = mul(b, s(b, GELU_K), add(b, x, mul(b, s(b, 0.044715), x, x, x)));
  return mul(b, s(b, 0.5), x, add(b, s(b, 1), b.op1('Tanh', [inner])));
}

/** Forward op and derivative of each activation. The derivative may use x, y or both. */
export const ACTIVATIONS: Record<ActivationName, { fn: Fn; grad: Grad }> = {
  linear: { fn: (_b, x) => x, grad: (_b, _x, _y, dy) => dy },
  relu: { fn: (b, x) => b.op1('Relu', [x]), grad: (b, _x, y, dy) => reluMask(b, y, dy, Infinity) },
  relu6: { fn: (b, x) => b.op1('Clip', [x, s(b, 0), s(b, 6)]), grad: (b, _x, y, dy) => reluMask(b, y, dy, 6) },
  sigmoid: { fn: (b, x) => b.op1('Sigmoid', [x]), grad: (b, _x, y, dy) => mul(b, dy, y, sub(b, s(b, 1), y)) },
  tanh: { fn: (b, x) => b.op1('Tanh', [x]), grad: (b, _x, y, dy) => mul(b, dy, sub(b, s(b, 1), mul(b, y, y))) },
  elu: {
    fn: (b, x) => b.op1('Elu', [x], { alpha: { f: 1 } }),
    grad: (b, x, y, dy) => b.op1('Where', [b.op1('Greater', [x, s(b, 0)]), dy, mul(b, dy, add(b, y, s(b, 1)))]),
  },
  selu: {
    fn: (b, x) => b.op1('Selu', [x], { alpha: { f: SELU_ALPHA }, gamma: { f: SELU_SCALE } }),
    grad: (b, x, y, dy) => b.op1('Where', [b.op1('Greater', [x, s(b, 0)]), mul(b, dy, s(b, SELU_SCALE)), mul(b, dy, add(b, y, s(b, SELU_SCALE * SELU_ALPHA)))]),
  },
  softplus: { fn: (b, x) => b.op1('Softplus', [x]), grad: (b, x, _y, dy) => mul(b, dy, b.op1('Sigmoid', [x])) },
  softsign: {
    fn: (b, x) => b.op1('Softsign', [x]),
    grad: (b, x, _y, dy) => {
      const d = add(b, s(b, 1), b.op1('Abs', [x]));
      return b.op1('Div', [dy, mul(b, d, d)]);
    },
  },
  swish: {
    fn: (b, x) => mul(b, x, b.op1('Sigmoid', [x])),
    grad: (b, x, _y, dy) => {
      const sg = b.op1('Sigmoid', [x]);
      return mul(b, dy, sg, add(b, s(b, 1), mul(b, x, sub(b, s(b, 1), sg))));
    },
  },
  gelu: {
    fn: (b, x) => mul(b, s(b, 0.5), x, add(b, s(b, 1), b.op1('Erf', [mul(b, x, s(b, Math.SQRT1_2))]))),
    grad: (b, x, _y, dy) => mul(b, dy, geluGrad(b, x)),
  },
  gelu_tanh: { fn: geluTanh, grad: (b, x, _y, dy) => mul(b, dy, geluTanhGrad(b, x)) },
  hard_sigmoid: {
    fn: (b, x) => b.op1('HardSigmoid', [x], { alpha: { f: 0.2 }, beta: { f: 0.5 } }),
    grad: (b, _x, y, dy) => mul(b, reluMask(b, y, dy, 1), s(b, 0.2)),
  },
  hard_sigmoid6: {
    fn: (b, x) => b.op1('HardSigmoid', [x], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } }),
    grad: (b, _x, y, dy) => mul(b, reluMask(b, y, dy, 1), s(b, 1 / 6)),
  },
  hard_swish: {
    fn: (b, x) => b.op1('HardSwish', [x]),
    grad: (b, x, _y, dy) => {
      // x·h(x), h = clip(x/6 + 0.5, 0, 1): h + x·h'(x), h' = 1/6 inside (0, 1).
      const h = b.op1('HardSigmoid', [x], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
      const inside = reluMask(b, h, mul(b, x, s(b, 1 / 6)), 1);
      return mul(b, dy, add(b, h, inside));
    },
  },
  exponential: { fn: (b, x) => b.op1('Exp', [x]), grad: (b, _x, y, dy) => mul(b, dy, y) },
  mish: {
    fn: (b, x) => mul(b, x, b.op1('Tanh', [b.op1('Softplus', [x])])),
    grad: (b, x, _y, dy) => {
      const t = b.op1('Tanh', [b.op1('Softplus', [x])]);
      return mul(b, dy, add(b, t, mul(b, x, sub(b, s(b, 1), mul(b, t, t)), b.op1('Sigmoid', [x]))));
    },
  },
};

/** The cap of a ReLU-like activation (its output is clip(pre, 0, cap)), undefined for others. */
export function reluCap(activation: ActivationName): number | undefined {
  if (activation === 'relu') return Infinity;
  if (activation === 'relu6') return 6;
  return undefined;
}
