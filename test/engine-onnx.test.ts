/**
 * The ONNX engine against the TF.js lean graph's ops (cpu backend, tf's own autodiff; see
 * support/lean-ref.ts for the few ops whose tf.js gradient is wrong): the objective's value and its
 * input gradient on tiny hand-built graphs of every LeanOp, on reads of pre-activations and
 * redirected ReLUs, and on non-linear heads. Skipped only where onnxruntime-node cannot load.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { FeatureRead, Objective } from '../pipeline/engine/engine.ts';
import { compileGradient, unsupportedReason, type LeanNode } from '../pipeline/engine/onnx/compile.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { ACTIVATION_NAMES, type LeanOp, type Weight } from '../pipeline/engine/ops.ts';
import { relErr, rng, ortOrSkip } from './support/engine.ts';
import { buildReference, runReference } from './support/lean-ref.ts';

const { ort, skip } = await ortOrSkip();

const weight = (shape: number[], seed: number, scale = 0.5): Weight => {
  const r = rng(seed);
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale) };
};

let seed = 1;
const conv = (inC: number, outC: number, extra: Partial<Extract<LeanOp, { op: 'conv2d' }>> = {}): LeanOp => ({
  op: 'conv2d',
  kind: 'conv',
  filter: weight([3, 3, inC, outC], seed++),
  bias: weight([outC], seed++),
  strides: [1, 1],
  padding: 'same',
  dilations: [1, 1],
  activation: 'linear',
  ...extra,
});

/** input → each op in turn (names n0, n1, …). */
function chain(ops: LeanOp[]): LeanNode[] {
  const nodes: LeanNode[] = [{ name: 'x', inputs: [], op: { op: 'input' } }];
  ops.forEach((op, i) => nodes.push({ name: `n${i}`, inputs: [nodes.at(-1)!.name], op }));
  return nodes;
}

/** Per image: Σ features · w for a fixed random w (linear), or Σ tanh(features · w) (not). */
function headOf(shape: number[], linear: boolean, read: FeatureRead): Objective {
  const r = rng(42);
  const w = Float32Array.from({ length: shape.slice(1).reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
  const head = (a: tf.Tensor) => {
    const flat = tf.mul(a.reshape([a.shape[0]!, -1]), tf.tensor2d(w, [1, w.length]));
    return tf.sum(linear ? flat : tf.tanh(flat), 1) as tf.Tensor1D;
  };
  return { read, head, linear };
}

interface Check {
  nodes: LeanNode[];
  input: [number, number, number];
  read?: Partial<FeatureRead>;
  batch?: number;
  linear?: boolean;
  /** Added to the input (e.g. negative for max pools over windows whose max is ≤ 0). */
  shift?: number;
}

async function check(c: Check): Promise<void> {
  const read: FeatureRead = { node: c.nodes.at(-1)!.name, pre: false, redirect: false, ...c.read };
  const batch = c.batch ?? 2;
  const r = rng(7);
  const shape = [batch, ...c.input] as [number, number, number, number];
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1 + (c.shift ?? 0));
  await tf.setBackend('cpu');
  buildReference(c.nodes);
  const x = tf.tensor4d(data, shape);
  const featureShape = tf.tidy(() => runReference(c.nodes, read, x).shape);
  const objective = headOf(featureShape, c.linear ?? true, read);
  const ref = tf.valueAndGrads((t: tf.Tensor) => tf.sum(objective.head(runReference(c.nodes, read, t))))([x]);
  const refValue = tf.tidy(() => objective.head(runReference(c.nodes, read, x)));
  const engine = new OnnxEngine(c.nodes, { ort: ort!, provider: 'cpu' });
  try {
    const { value, grad } = await engine.valueAndGrad(objective, x);
    assert.deepEqual(grad.shape, shape);
    const e = { value: relErr(value.dataSync() as Float32Array, refValue.dataSync() as Float32Array), grad: relErr(grad.dataSync() as Float32Array, ref.grads[0]!.dataSync() as Float32Array) };
    assert.ok(e.value < 1e-4 && e.grad < 1e-4, `relative error: value ${e.value}, gradient ${e.grad}`);
    tf.dispose([value, grad]);
  } finally {
    engine.dispose();
    tf.dispose([x, ref.value, ...ref.grads, refValue]);
  }
}

describe('onnx engine: value and input gradient equal TF.js autodiff, per op', { skip }, () => {
  before(() => tf.setBackend('cpu'));
  const convCases: [string, Partial<Extract<LeanOp, { op: 'conv2d' }>>, number][] = [
    ['conv 3×3 same, relu', { activation: 'relu' }, 4],
    ['conv 3×3 stride 2 same, relu6', { strides: [2, 2], activation: 'relu6' }, 4],
    ['conv 7×7 stride 2 valid (stem)', { filter: weight([7, 7, 3, 4], 90), strides: [2, 2], padding: 'valid' }, 4],
    ['conv 3×2 stride (2, 1) same', { filter: weight([3, 2, 3, 5], 91), strides: [2, 1] }, 5],
    ['conv dilated 2, valid, no bias', { dilations: [2, 2], padding: 'valid', bias: undefined }, 4],
    ['conv 1×1 stride 2', { filter: weight([1, 1, 3, 6], 92), strides: [2, 2] }, 6],
    ['depthwise 3×3 stride 2, relu6', { kind: 'depthwise', filter: weight([3, 3, 3, 1], 93), bias: weight([3], 94), strides: [2, 2], activation: 'relu6' }, 3],
    ['depthwise multiplier 2, stride 1', { kind: 'depthwise', filter: weight([3, 3, 3, 2], 95), bias: weight([6], 96) }, 6],
  ];
  for (const [label, extra, outC] of convCases) it(label, () => check({ nodes: chain([conv(3, outC, extra)]), input: [11, 9, 3] }));
  it('grouped conv (3 groups), stride 2', () =>
    check({ nodes: chain([conv(3, 6, { activation: 'relu' }), { ...(conv(2, 6, { strides: [2, 2] }) as Extract<LeanOp, { op: 'conv2d' }>), groups: 3 }]), input: [10, 10, 3] }));

  for (const activation of ACTIVATION_NAMES) it(`activation ${activation}`, () => check({ nodes: chain([conv(3, 4), { op: 'activation', activation }]), input: [6, 5, 3] }));
  it('leaky relu, clips (ReLU layers with max_value)', () =>
    check({ nodes: chain([conv(3, 4), { op: 'leakyRelu', alpha: 0.2 }, conv(4, 4), { op: 'clip', min: 0, max: 0.7 }, conv(4, 4), { op: 'clip', min: 0, max: Infinity }]), input: [6, 6, 3] }));
  it('affine, scale, layer norm', () =>
    check({
      nodes: chain([
        conv(3, 4),
        { op: 'affine', scale: weight([4], 3), shift: weight([4], 4) },
        { op: 'scale', scale: weight([4], 5) },
        { op: 'layerNorm', epsilon: 1e-3, gamma: weight([4], 6), beta: weight([4], 7) },
      ]),
      input: [5, 5, 3],
    }));
  it('flatten, dense relu, dense, softmax', () =>
    check({
      nodes: chain([
        conv(3, 2, { strides: [2, 2] }),
        { op: 'reshape', shape: [-1] },
        { op: 'dense', kernel: weight([18, 5], 8), bias: weight([5], 9), activation: 'relu' },
        { op: 'dense', kernel: weight([5, 4], 10), activation: 'linear' },
        { op: 'softmax', axis: -1 },
      ]),
      input: [6, 6, 3],
    }));
  it('dense on an image (per position), reshape back to an image', () =>
    check({
      nodes: chain([{ op: 'dense', kernel: weight([3, 4], 11), bias: weight([4], 12), activation: 'tanh' }, { op: 'reshape', shape: [-1] }, { op: 'reshape', shape: [5, 4, 4] }, conv(4, 2)]),
      input: [4, 5, 3],
    }));
  const pools: [string, Extract<LeanOp, { op: 'pool2d' }>, number][] = [
    ['max pool 3×3 stride 2 same, windows with max ≤ 0', { op: 'pool2d', reduce: 'max', size: [3, 3], strides: [2, 2], padding: 'same' }, -3],
    ['max pool 2×2 stride 2 valid, odd size', { op: 'pool2d', reduce: 'max', size: [2, 2], strides: [2, 2], padding: 'valid' }, 0],
    ['max pool 1×1 stride 2 (ResNet50V2 shortcut)', { op: 'pool2d', reduce: 'max', size: [1, 1], strides: [2, 2], padding: 'valid' }, 0],
    ['avg pool 3×3 stride 2 same', { op: 'pool2d', reduce: 'avg', size: [3, 3], strides: [2, 2], padding: 'same' }, 0],
    ['avg pool 2×3 stride (1, 2) valid', { op: 'pool2d', reduce: 'avg', size: [2, 3], strides: [1, 2], padding: 'valid' }, 0],
  ];
  for (const [label, op, shift] of pools) it(label, () => check({ nodes: chain([op]), input: [9, 11, 3], shift }));
  for (const reduce of ['avg', 'max'] as const)
    for (const keepDims of [true, false]) it(`global ${reduce} pool, keepDims ${keepDims}`, () => check({ nodes: chain([conv(3, 4), { op: 'globalPool', reduce, keepDims }]), input: [5, 6, 3] }));
  it('pad and crop', () =>
    check({
      nodes: chain([
        {
          op: 'pad',
          pads: [
            [1, 2],
            [3, 0],
          ],
        },
        conv(3, 4),
        {
          op: 'pad',
          pads: [
            [-1, 0],
            [-2, -1],
          ],
        },
      ]),
      input: [6, 5, 3],
    }));
  it('resize bilinear up and down, nearest, upsample', () =>
    check({
      nodes: chain([
        { op: 'resize', size: [9, 13], method: 'bilinear' },
        conv(3, 3),
        { op: 'resize', size: [4, 5], method: 'bilinear' },
        { op: 'resize', size: [7, 3], method: 'nearest' },
        { op: 'upsample', factor: [2, 3] },
      ]),
      input: [6, 7, 3],
    }));
  it('non-linear head (forward run, TF.js dA, gradient run)', () => check({ nodes: chain([conv(3, 4, { activation: 'relu' })]), input: [6, 6, 3], linear: false }));
  it('batch 1 and batch 3 through one compiled model', async () => {
    const nodes = chain([conv(3, 4, { strides: [2, 2], activation: 'relu6' })]);
    await check({ nodes, input: [8, 8, 3], batch: 1 });
    await check({ nodes, input: [8, 8, 3], batch: 3 });
  });
});

/** Graphs with branches: merges, concat, and the reads of a ReLU's pre-activation and redirect. */
function branches(merge: Extract<LeanOp, { op: 'merge' }>['merge'], n: number): LeanNode[] {
  const nodes: LeanNode[] = [{ name: 'x', inputs: [], op: { op: 'input' } }];
  for (let i = 0; i < n; i++) nodes.push({ name: `b${i}`, inputs: ['x'], op: conv(3, 4) });
  nodes.push({ name: 'm', inputs: nodes.slice(1).map((v) => v.name), op: { op: 'merge', merge } });
  return nodes;
}

describe('onnx engine: branches and reads', { skip }, () => {
  before(() => tf.setBackend('cpu'));
  for (const merge of ['add', 'subtract', 'multiply', 'average', 'maximum', 'minimum'] as const)
    it(`merge ${merge}`, () => check({ nodes: branches(merge, merge === 'subtract' ? 2 : 3), input: [5, 6, 3] }));
  it('merge add with broadcasting (squeeze-excite-like), concat on channels and rows', () => {
    const nodes: LeanNode[] = [
      { name: 'x', inputs: [], op: { op: 'input' } },
      { name: 'a', inputs: ['x'], op: conv(3, 4, { activation: 'relu' }) },
      { name: 'g', inputs: ['a'], op: { op: 'globalPool', reduce: 'avg', keepDims: true } },
      { name: 'm', inputs: ['a', 'g'], op: { op: 'merge', merge: 'multiply' } },
      { name: 'c', inputs: ['m', 'x'], op: { op: 'concat', axis: -1 } },
      { name: 'r', inputs: ['c', 'c'], op: { op: 'concat', axis: 1 } },
    ];
    return check({ nodes, input: [5, 4, 3] });
  });
  const relu = (extra: Partial<FeatureRead>) => check({ nodes: chain([conv(3, 4), conv(4, 4, { activation: 'relu6' })]), input: [6, 6, 3], read: extra });
  it('read a conv relu6 pre-activation', () => relu({ pre: true }));
  it('read a conv relu6 with the redirected gradient', () => relu({ redirect: true }));
  it('redirect on a dead channel (all inputs shifted below zero)', () =>
    check({ nodes: chain([{ op: 'clip', min: 0, max: 6 }, conv(3, 4), { op: 'activation', activation: 'relu' }]), input: [6, 6, 3], read: { redirect: true }, shift: -0.7 }));
  it('features: several reads in one forward run (output, pre-activation, an earlier node)', async () => {
    const nodes = chain([conv(3, 4), conv(4, 4, { activation: 'relu6', strides: [2, 2] }), { op: 'globalPool', reduce: 'avg', keepDims: false }]);
    const reads: FeatureRead[] = [
      { node: 'n1', pre: false, redirect: false },
      { node: 'n1', pre: true, redirect: false },
      { node: 'n2', pre: false, redirect: false },
      { node: 'n0', pre: false, redirect: false },
    ];
    buildReference(nodes);
    const r = rng(3);
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 7 * 6 * 3 }, () => r() * 2 - 1),
      [2, 7, 6, 3],
    );
    const engine = new OnnxEngine(nodes, { ort: ort!, provider: 'cpu' });
    const got = await engine.features(reads, x);
    reads.forEach((read, i) => {
      const ref = tf.tidy(() => runReference(nodes, read, x));
      assert.deepEqual(got[i]!.shape, ref.shape);
      assert.ok(relErr(got[i]!.dataSync() as Float32Array, ref.dataSync() as Float32Array) < 1e-5, `read ${i}`);
      ref.dispose();
    });
    tf.dispose([x, ...got]);
    engine.dispose();
  });
  it('read an activation node before its relu', () => check({ nodes: chain([conv(3, 4), { op: 'activation', activation: 'relu' }]), input: [6, 6, 3], read: { pre: true } }));
});

describe('onnx compiler', () => {
  it('names what it cannot compile', () => {
    const nodes = chain([{ op: 'mystery' } as unknown as LeanOp]);
    assert.match(unsupportedReason(nodes)!, /node n0: op "mystery" has no ONNX rule/);
    assert.equal(unsupportedReason(chain([conv(3, 4)])), undefined);
    assert.throws(
      () => compileGradient(chain([{ op: 'pool2d', reduce: 'max', size: [5, 5], strides: [1, 1], padding: 'valid' }]), { node: 'n0', pre: false, redirect: false }, [3, 3, 1]),
      /layer n0 \(pool2d\): a 5×5 pool on a 3×3 input has no output/,
    );
  });
});
