/**
 * A plain TF.js executor of LeanOp graphs for the ONNX equality tests: each op written with ordinary
 * tf ops and differentiated by tf itself (the cpu backend), so it shares no code with the compiler.
 * Resampling is written as gathers: tf.js's ResizeBilinearGrad ignores halfPixelCenters.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureRead } from '../../pipeline/engine/engine.ts';
import { padOrCrop } from '../../pipeline/engine/conv-ops.ts';
import { redirectedRelu } from '../../pipeline/engine/graph.ts';
import type { ActivationName, LeanOp, Weight } from '../../pipeline/engine/ops.ts';
import type { LeanNode } from '../../pipeline/engine/onnx/compile.ts';

const w = (v: Weight) => tf.tensor(v.data, v.shape);
const sig = (x: tf.Tensor) => tf.sigmoid(x);

const ACT: Record<ActivationName, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  sigmoid: sig,
  tanh: (x) => tf.tanh(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(1, tf.abs(x))),
  swish: (x) => tf.mul(x, sig(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  gelu_tanh: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  hard_sigmoid6: (x) => tf.div(tf.relu6(tf.add(x, 3)), 6),
  hard_swish: (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)),
  exponential: (x) => tf.exp(x),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
};

/** Zero-inserted filter: tf cannot differentiate dilated convolutions. */
function dilated(f: Weight, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, c, m] = f.shape as [number, number, number, number];
  const KW = (kw - 1) * dw + 1;
  const out = new Float32Array(((kh - 1) * dh + 1) * KW * c * m);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out.set(f.data.subarray((i * kw + j) * c * m, (i * kw + j + 1) * c * m), (i * dh * KW + j * dw) * c * m);
  return tf.tensor4d(out, [(kh - 1) * dh + 1, KW, c, m]);
}

function conv(x: tf.Tensor4D, op: Extract<LeanOp, { op: 'conv2d' }>): tf.Tensor {
  const f = dilated(op.filter, op.dilations);
  let y: tf.Tensor;
  if (op.kind === 'depthwise') y = tf.depthwiseConv2d(x, f, op.strides, op.padding);
  else if ((op.groups ?? 1) === 1) y = tf.conv2d(x, f, op.strides, op.padding);
  else {
    // (tf.js's SplitV gradient fails for a single piece, hence the branch above.)
    const g = op.groups ?? 1;
    const xs = tf.split(x, g, 3);
    const fs = tf.split(f, g, 3);
    y = tf.concat(xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, fs[i]! as tf.Tensor4D, op.strides, op.padding)), 3);
  }
  return op.bias ? tf.add(y, w(op.bias)) : y;
}

/** Source rows and weights of one axis (TF.js half-pixel centres). */
function axisGather(x: tf.Tensor, axis: number, inSize: number, outSize: number, method: 'bilinear' | 'nearest'): tf.Tensor {
  const ratio = inSize / outSize;
  const o = Array.from({ length: outSize }, (_, i) => i);
  if (method === 'nearest') return tf.gather(x, o.map((i) => Math.min(inSize - 1, Math.floor((i + 0.5) * ratio))), axis);
  const src = o.map((i) => (i + 0.5) * ratio - 0.5);
  const lo = src.map((s) => Math.max(0, Math.floor(s)));
  const hi = src.map((s) => Math.min(inSize - 1, Math.ceil(s)));
  const shape = [1, 1, 1, 1].map((d, i) => (i === axis ? outSize : d));
  const frac = tf.tensor(src.map((s, i) => s - lo[i]!), shape);
  return tf.add(tf.mul(tf.gather(x, lo, axis), tf.sub(1, frac)), tf.mul(tf.gather(x, hi, axis), frac));
}

function resample(x: tf.Tensor4D, [oh, ow]: [number, number], method: 'bilinear' | 'nearest'): tf.Tensor {
  return axisGather(axisGather(x, 1, x.shape[1], oh, method), 2, x.shape[2], ow, method);
}

/**
 * Window sums over counts of real elements: tf.js's AvgPoolGrad divides by the full window size
 * even where 'same' padding made the forward divide by fewer (wrong at the borders).
 */
function avgPool(x: tf.Tensor4D, op: Extract<LeanOp, { op: 'pool2d' }>): tf.Tensor {
  const ones = tf.ones([...op.size, x.shape[3], 1]) as tf.Tensor4D;
  const sum = (t: tf.Tensor4D) => tf.depthwiseConv2d(t, ones, op.strides, op.padding);
  return tf.div(sum(x), sum(tf.onesLike(x)));
}

const chain = (xs: tf.Tensor[], f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => xs.reduce((a, b) => f(a, b));

/** Output, and pre-activation where the op ends in a ReLU-like clip (its cap). */
function apply(op: LeanOp, xs: tf.Tensor[]): { out: tf.Tensor; pre?: tf.Tensor; cap?: number } {
  const x = xs[0]!;
  const withAct = (pre: tf.Tensor, a: ActivationName) => ({ out: ACT[a](pre), pre, cap: a === 'relu' ? Infinity : a === 'relu6' ? 6 : undefined });
  switch (op.op) {
    case 'input':
    case 'identity':
      return { out: x };
    case 'conv2d':
      return withAct(conv(x as tf.Tensor4D, op), op.activation);
    case 'dense': {
      const [inF, outF] = op.kernel.shape as [number, number];
      let y = tf.matMul(x.reshape([-1, inF]), w(op.kernel) as tf.Tensor2D).reshape([...x.shape.slice(0, -1), outF]);
      if (op.bias) y = tf.add(y, w(op.bias));
      return withAct(y, op.activation);
    }
    case 'affine':
      return { out: tf.add(tf.mul(x, w(op.scale)), w(op.shift)) };
    case 'scale':
      return { out: tf.mul(x, w(op.scale)) };
    case 'activation':
      return withAct(x, op.activation);
    case 'leakyRelu':
      return { out: tf.leakyRelu(x, op.alpha) };
    case 'clip':
      return { out: op.max === Infinity ? tf.maximum(x, op.min) : tf.clipByValue(x, op.min, op.max), ...(op.min === 0 ? { pre: x, cap: op.max } : {}) };
    case 'softmax':
      return { out: tf.softmax(x, op.axis) };
    case 'pool2d':
      return { out: op.reduce === 'max' ? tf.maxPool(x as tf.Tensor4D, op.size, op.strides, op.padding) : avgPool(x as tf.Tensor4D, op) };
    case 'globalPool':
      return { out: (op.reduce === 'max' ? tf.max : tf.mean)(x, [1, 2], op.keepDims) };
    case 'merge':
      return { out: { add: () => tf.addN(xs), subtract: () => tf.sub(x, xs[1]!), multiply: () => chain(xs, tf.mul), average: () => tf.div(tf.addN(xs), xs.length), maximum: () => chain(xs, tf.maximum), minimum: () => chain(xs, tf.minimum) }[op.merge]() };
    case 'concat':
      return { out: tf.concat(xs, op.axis) };
    case 'pad':
      return { out: padOrCrop(x as tf.Tensor4D, op.pads) };
    case 'reshape':
      return { out: x.reshape([x.shape[0]!, ...op.shape]) };
    case 'resize':
      return { out: resample(x as tf.Tensor4D, op.size, op.method) };
    case 'upsample':
      return { out: resample(x as tf.Tensor4D, [x.shape[1]! * op.factor[0], x.shape[2]! * op.factor[1]], 'nearest') };
    case 'layerNorm': {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, op.epsilon)));
      if (op.gamma) y = tf.mul(y, w(op.gamma));
      return { out: op.beta ? tf.add(y, w(op.beta)) : y };
    }
  }
}

/** The read's feature map at x (inside a tape: differentiable). */
export function runReference(nodes: LeanNode[], read: FeatureRead, x: tf.Tensor): tf.Tensor {
  const values = new Map<string, tf.Tensor>();
  for (const n of nodes) {
    if (n.op.op === 'input') {
      values.set(n.name, x);
      continue;
    }
    const r = apply(n.op, n.inputs.map((i) => values.get(i)!));
    if (n.name === read.node) {
      if (read.pre && r.pre) return r.pre;
      if (read.redirect && r.pre && r.cap !== undefined) return redirectedRelu(r.pre, r.cap);
      return r.out;
    }
    values.set(n.name, r.out);
  }
  throw new Error(`no node ${read.node}`);
}
