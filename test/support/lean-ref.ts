/**
 * The TF.js lean graph's ops (`tfjs-ops.ts` buildOp) on a hand-built LeanOp graph, differentiated by
 * tf (cpu backend), for the ONNX equality tests. A few ops are written out here instead, because
 * tf.js's own gradients of them are wrong (checked against finite differences or the explicit sum)
 * or the TF.js ops lack them:
 * - the average pool with 'same' padding: AvgPoolGrad divides by the full window at the borders,
 *   where the forward divided by fewer;
 * - resizes and upsampling: ResizeBilinearGrad and ResizeNearestNeighborGrad ignore
 *   halfPixelCenters, and ResizeNearestNeighborGrad is wrong with several images or channels;
 * - grouped convolutions (`groups` > 1), which tfjs-ops runs as a plain convolution.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureRead } from '../../pipeline/engine/engine.ts';
import { redirectedRelu } from '../../pipeline/engine/graph.ts';
import type { LeanNode } from '../../pipeline/engine/onnx/compile.ts';
import type { LeanOp } from '../../pipeline/engine/ops.ts';
import { buildOp, type BuiltOp } from '../../pipeline/engine/tfjs-ops.ts';

/** Each op built once, by `buildReference` outside any tf.tidy (which would dispose its constants). */
const built = new WeakMap<LeanOp, BuiltOp>();
const builtOf = (op: LeanOp): BuiltOp => {
  const b = built.get(op);
  if (!b) throw new Error(`op ${op.op} was not built: call buildReference(nodes) first`);
  return b;
};

/** Builds the TF.js ops of `nodes` (kept for the test process). */
export function buildReference(nodes: LeanNode[]): void {
  for (const n of nodes) if (!built.has(n.op)) built.set(n.op, buildOp(n.op));
}

/** Source rows and weights of one axis (TF.js half-pixel centres). */
function axisGather(x: tf.Tensor, axis: number, inSize: number, outSize: number, method: 'bilinear' | 'nearest'): tf.Tensor {
  const ratio = inSize / outSize;
  const o = Array.from({ length: outSize }, (_, i) => i);
  if (method === 'nearest')
    return tf.gather(
      x,
      o.map((i) => Math.min(inSize - 1, Math.floor((i + 0.5) * ratio))),
      axis,
    );
  const src = o.map((i) => (i + 0.5) * ratio - 0.5);
  const lo = src.map((s) => Math.max(0, Math.floor(s)));
  const hi = src.map((s) => Math.min(inSize - 1, Math.ceil(s)));
  const shape = [1, 1, 1, 1].map((d, i) => (i === axis ? outSize : d));
  const frac = tf.tensor(
    src.map((s, i) => s - lo[i]!),
    shape,
  );
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

/** Per group: the group's input channels convolved with its filters, concatenated. */
function groupedConv(x: tf.Tensor4D, op: Extract<LeanOp, { op: 'conv2d' }>): tf.Tensor {
  const g = op.groups!;
  const f = tf.tensor4d(op.filter.data, op.filter.shape as [number, number, number, number]);
  const fs = tf.split(f, g, 3);
  const y = tf.concat(
    tf.split(x, g, 3).map((xi, i) => tf.conv2d(xi as tf.Tensor4D, fs[i] as tf.Tensor4D, op.strides, op.padding)),
    3,
  );
  return op.bias ? tf.add(y, tf.tensor1d(op.bias.data)) : y;
}

/** The op as the TF.js lean graph runs it, except where that is wrong or missing (above). */
function apply(op: LeanOp, xs: tf.Tensor[]): tf.Tensor {
  const x = xs[0] as tf.Tensor4D;
  if (op.op === 'pool2d' && op.reduce === 'avg') return avgPool(x, op);
  if (op.op === 'resize') return resample(x, op.size, op.method);
  if (op.op === 'upsample') return resample(x, [x.shape[1] * op.factor[0], x.shape[2] * op.factor[1]], 'nearest');
  if (op.op === 'conv2d' && (op.groups ?? 1) > 1) return groupedConv(x, op);
  return builtOf(op).apply(xs);
}

/** The read's feature map at x (inside a tape: differentiable). */
export function runReference(nodes: LeanNode[], read: FeatureRead, x: tf.Tensor): tf.Tensor {
  const values = new Map<string, tf.Tensor>();
  for (const n of nodes) {
    if (n.op.op === 'input') {
      values.set(n.name, x);
      continue;
    }
    const ins = n.inputs.map((i) => values.get(i)!);
    const relu = builtOf(n.op).relu;
    if (n.name === read.node) {
      if (read.pre && relu) return relu.pre(ins);
      if (read.redirect && relu) return redirectedRelu(relu.pre(ins), relu.cap);
      return apply(n.op, ins);
    }
    values.set(n.name, apply(n.op, ins));
  }
  throw new Error(`no node ${read.node}`);
}
