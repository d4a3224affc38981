/**
 * LeanOp → TF.js closures over constant tensors (no variables, so no weight gradients).
 * Convolutions go through `conv-ops` (input gradient by forward convolution, relu/relu6 fused),
 * max pooling through `pool-ops` (a gradient that is right on every backend).
 */
import * as tf from '@tensorflow/tfjs';
import { makeConv, padOrCrop, type FusedActivation } from './conv-ops.ts';
import type { ActivationName, LeanOp, Weight } from './ops.ts';
import { maxPool } from './pool-ops.ts';

export type Apply = (inputs: tf.Tensor[]) => tf.Tensor;

export interface BuiltOp {
  apply: Apply;
  dispose?: () => void;
  /** relu(pre) / relu6(pre) / clip(pre, 0, cap) outputs: the pre-activation and the cap. */
  relu?: { pre: Apply; cap: number };
  /** A linear convolution: the same conv with relu/relu6 fused into its kernel. */
  withActivation?: (x: tf.Tensor4D, activation: FusedActivation) => tf.Tensor;
}

const ACTIVATIONS: Record<ActivationName, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(tf.abs(x), 1)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  // Keras's approximate GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  gelu_tanh: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  hard_sigmoid6: (x) => tf.div(tf.relu6(tf.add(x, 3)), 6),
  hard_swish: (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)),
  exponential: (x) => tf.exp(x),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
};

export function activationFn(name: ActivationName): (x: tf.Tensor) => tf.Tensor {
  return ACTIVATIONS[name];
}

function constant(w: Weight): tf.Tensor {
  return tf.tensor(w.data, w.shape, 'float32');
}

function reluInfo(activation: ActivationName, pre: Apply): BuiltOp['relu'] {
  if (activation === 'relu') return { pre, cap: Infinity };
  if (activation === 'relu6') return { pre, cap: 6 };
  return undefined;
}

function convOp(op: Extract<LeanOp, { op: 'conv2d' }>): BuiltOp {
  const filter = constant(op.filter) as tf.Tensor4D;
  const bias = op.bias ? (constant(op.bias) as tf.Tensor1D) : undefined;
  const fusable = op.activation === 'linear' || op.activation === 'relu' || op.activation === 'relu6';
  const conv = makeConv({ kind: op.kind, filter, bias, activation: fusable ? (op.activation as FusedActivation) : 'linear', strides: op.strides, padding: op.padding, dilations: op.dilations });
  const act = activationFn(op.activation);
  // conv + bias + relu/relu6 in one forward kernel; other activations run after it.
  const pre: Apply = ([x]) => conv.apply(x as tf.Tensor4D, 'linear');
  return {
    apply: fusable ? ([x]) => conv.apply(x as tf.Tensor4D) : (xs) => act(pre(xs)),
    relu: reluInfo(op.activation, pre),
    ...(op.activation === 'linear' ? { withActivation: (x: tf.Tensor4D, a: FusedActivation) => conv.apply(x, a) } : {}),
    dispose: () => {
      conv.dispose();
      filter.dispose();
      bias?.dispose();
    },
  };
}

/** Ops holding constants: built with their tensors and a dispose. */
function withConstants(weights: (Weight | undefined)[], make: (t: (tf.Tensor | undefined)[]) => Apply): BuiltOp {
  const tensors = weights.map((w) => (w ? constant(w) : undefined));
  return { apply: make(tensors), dispose: () => tensors.forEach((t) => t?.dispose()) };
}

function mergeFn(kind: Extract<LeanOp, { op: 'merge' }>['merge']): Apply {
  const pairwise = { add: tf.add, subtract: tf.sub, multiply: tf.mul, maximum: tf.maximum, minimum: tf.minimum, average: tf.add }[kind];
  return (xs) => {
    const total = xs.slice(1).reduce((a, b) => pairwise(a, b), xs[0]!);
    return kind === 'average' ? tf.div(total, xs.length) : total;
  };
}

function layerNorm(op: Extract<LeanOp, { op: 'layerNorm' }>): BuiltOp {
  return withConstants([op.gamma, op.beta], ([gamma, beta]) => ([x]) => {
    const { mean, variance } = tf.moments(x!, -1, true);
    let y = tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, op.epsilon)));
    if (gamma) y = tf.mul(y, gamma);
    return beta ? tf.add(y, beta) : y;
  });
}

export function buildOp(op: LeanOp): BuiltOp {
  switch (op.op) {
    case 'input':
    case 'identity':
      return { apply: ([x]) => x! };
    case 'conv2d':
      return convOp(op);
    case 'dense':
      return withConstants([op.kernel, op.bias], ([k, b]) => ([x]) => {
        const flat = x!.rank === 2 ? x! : x!.reshape([-1, x!.shape[x!.rank - 1]!]);
        let y = tf.matMul(flat as tf.Tensor2D, k as tf.Tensor2D) as tf.Tensor;
        if (b) y = tf.add(y, b);
        return activationFn(op.activation)(x!.rank === 2 ? y : y.reshape([...x!.shape.slice(0, -1), k!.shape[1]!]));
      });
    case 'affine':
    case 'scale':
      return withConstants(
        op.op === 'affine' ? [op.scale, op.shift] : [op.scale],
        ([s, t]) =>
          ([x]) =>
            t ? tf.add(tf.mul(x!, s!), t) : tf.mul(x!, s!),
      );
    case 'activation':
      return { apply: ([x]) => activationFn(op.activation)(x!), relu: reluInfo(op.activation, ([x]) => x!) };
    case 'leakyRelu':
      return { apply: ([x]) => tf.leakyRelu(x!, op.alpha) };
    case 'clip':
      return {
        apply: ([x]) => (op.max === Infinity ? tf.relu(x!) : op.max === 6 ? tf.relu6(x!) : tf.clipByValue(x!, 0, op.max)),
        relu: { pre: ([x]) => x!, cap: op.max },
      };
    case 'softmax':
      return { apply: ([x]) => tf.softmax(x!, op.axis) };
    case 'layerNorm':
      return layerNorm(op);
    default:
      return { apply: shapeOp(op) };
  }
}

/** Ops without constants: pooling, merges, padding, reshapes, resizes. */
function shapeOp(op: LeanOp): Apply {
  switch (op.op) {
    case 'pool2d':
      if (op.reduce === 'max') return ([x]) => maxPool(x as tf.Tensor4D, { size: op.size, strides: op.strides, padding: op.padding });
      return ([x]) => tf.avgPool(x as tf.Tensor4D, op.size, op.strides, op.padding);
    case 'globalPool':
      return ([x]) => (op.reduce === 'max' ? tf.max(x!, [1, 2], op.keepDims) : tf.mean(x!, [1, 2], op.keepDims));
    case 'merge':
      return mergeFn(op.merge);
    case 'concat':
      return (xs) => tf.concat(xs, op.axis);
    case 'pad':
      return ([x]) => padOrCrop(x as tf.Tensor4D, op.pads);
    case 'reshape':
      return ([x]) => x!.reshape([x!.shape[0]!, ...op.shape]);
    case 'resize':
      return ([x]) => (op.method === 'bilinear' ? tf.image.resizeBilinear(x as tf.Tensor4D, op.size, false, true) : tf.image.resizeNearestNeighbor(x as tf.Tensor4D, op.size, false, true));
    case 'upsample':
      // Nearest neighbour at an integer factor repeats each pixel (src = floor(dst / factor)).
      return ([x]) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [x!.shape[1]! * op.factor[0], x!.shape[2]! * op.factor[1]]);
    default:
      throw new Error(`lean op "${op.op}" has no TF.js implementation`);
  }
}
