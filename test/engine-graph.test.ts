/**
 * The lean graph against the LayersModel it came from: forward values, and the input gradient
 * (run on wasm, the default CPU path) against tf.grad through the model truncated at the layer
 * (run on the cpu backend). Both shared models, the first and last conv layers included; and a
 * small model with every layer type in RULES, so that each gradient kernel wasm needs is exercised.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { buildLeanGraph, type LeanGraph } from '../pipeline/engine/graph.ts';
import { specFromLayersModel } from '../pipeline/model/from-layers.ts';
import { loadLayersModelFromFile } from '../pipeline/model/load.ts';
import { onBackend, relErr, rng, sharedModel } from './support/engine.ts';

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale),
    shape,
  );
}

/** Reference: forward and gradient of Σ out·w through the LayersModel truncated at `layer` (cpu backend). */
function modelReference(model: tf.LayersModel, layer: string, x: tf.Tensor4D, seed: number): tf.Tensor[] {
  const cut = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  const y = cut.apply(x, { training: false }) as tf.Tensor;
  const w = random(y.shape, seed);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(cut.apply(t, { training: false }) as tf.Tensor, w)))(x);
  return [y, g];
}

function leanUnderTest(graph: LeanGraph, layer: string, x: tf.Tensor4D, seed: number): tf.Tensor[] {
  const [y] = graph.run(x, [layer]);
  const w = random(y!.shape, seed);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(graph.run(t as tf.Tensor4D, [layer])[0]!, w)))(x);
  return [y!, g];
}

/**
 * On cpu the lean graph must match to 1e-4 (same kernels' arithmetic up to BN folding). On wasm
 * (XNNPACK sums in another order) a deep layer's gradient also differs where a relu6 input sits
 * within float error of 0 or 6 and flips its mask, so wasm gets `wasmTol` there; each wasm kernel
 * is held to 1e-4 on its own in engine-conv-ops.test.ts.
 */
async function compare(model: tf.LayersModel, graphs: Record<string, LeanGraph>, layer: string, x: tf.Tensor4D, seed: number, wasmTol = 1e-4): Promise<void> {
  const [refY, refG] = await onBackend('cpu', () => modelReference(model, layer, x, seed));
  assert.ok(Math.sqrt(refG!.reduce((s, v) => s + v * v, 0)) > 0, 'the reference gradient is zero: the comparison would be void');
  for (const [label, graph] of Object.entries(graphs)) {
    for (const backend of ['cpu', 'wasm']) {
      const [y, g] = await onBackend(backend, () => leanUnderTest(graph, layer, x, seed));
      const tol = backend === 'cpu' ? 1e-4 : wasmTol;
      assert.ok(relErr(y!, refY!) < Math.max(1e-5, tol / 10), `${label} on ${backend}: forward rel err ${relErr(y!, refY!)}`);
      assert.ok(relErr(g!, refG!) < tol, `${label} on ${backend}: input gradient rel err ${relErr(g!, refG!)}`);
    }
  }
}

describe('lean graph = LayersModel on the shared models (gradient on wasm vs model on cpu)', () => {
  before(async () => {
    await selectBackend('wasm');
  });
  for (const id of ['mobilenet_v1_0.25_224', 'mobilenet_v1_0.75_224']) {
    const file = sharedModel(id);
    // [layer, wasm tolerance]: first conv, a middle one, the last conv block, the last conv layer.
    const layers: [string, number][] = id.includes('0.25')
      ? [
          ['conv1_relu', 1e-4],
          ['conv_dw_2_relu', 1e-4],
          ['conv_pw_6_relu', 1e-3],
          ['conv_pw_13_relu', 2e-2],
          ['conv_preds', 2e-2],
        ]
      : [
          ['conv1_relu', 1e-4],
          ['conv_pw_13_bn', 2e-2],
          ['conv_preds', 2e-2],
        ];
    it(`${id}: ${layers.map(([l]) => l).join(', ')} (input 128×128 to keep the cpu reference quick)`, { skip: file ? false : `no ${id} under ATLAS_MODELS / ../shared/models` }, async () => {
      await tf.setBackend('cpu');
      const { model } = await loadLayersModelFromFile(file!);
      const graphs = { fused: buildLeanGraph(specFromLayersModel(model)), unfused: buildLeanGraph(specFromLayersModel(model), { fuse: false }) };
      await tf.setBackend('wasm');
      const x = tf.tidy(() => random([1, 128, 128, 3], 5, 0.5)) as tf.Tensor4D;
      try {
        for (const [i, [layer, tol]] of layers.entries()) await compare(model, graphs, layer, x, 40 + i, tol);
      } finally {
        x.dispose();
        Object.values(graphs).forEach((g) => g.dispose());
        model.dispose();
      }
    });
  }
});

/** A small model with every layer type the lean graph has a rule for, weights randomized. */
function zoo(): { model: tf.LayersModel; targets: string[] } {
  const L = tf.layers;
  const inp = tf.input({ shape: [15, 13, 3], name: 'in' });
  const scaled = inp;
  let x = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }).apply(scaled) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'c1_bn' }).apply(x) as tf.SymbolicTensor;
  x = L.activation({ activation: 'relu6', name: 'c1_relu' }).apply(x) as tf.SymbolicTensor;
  x = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', useBias: false, name: 'dw' }).apply(x) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'dw_bn' }).apply(x) as tf.SymbolicTensor;
  x = L.reLU({ maxValue: 6, name: 'dw_relu' }).apply(x) as tf.SymbolicTensor;
  const a = L.conv2d({ filters: 8, kernelSize: 1, activation: 'elu', name: 'a_elu' }).apply(x) as tf.SymbolicTensor;
  const b = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'b_tanh' }).apply(x) as tf.SymbolicTensor;
  const s = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 's_sig' }).apply(x) as tf.SymbolicTensor;
  const r = L.conv2d({ filters: 8, kernelSize: 2, padding: 'same', activation: 'relu', name: 'r_relu' }).apply(x) as tf.SymbolicTensor;
  const add = L.add({ name: 'add' }).apply([a, b]) as tf.SymbolicTensor;
  const mul = L.multiply({ name: 'mul' }).apply([a, s]) as tf.SymbolicTensor;
  const avg = L.average({ name: 'avg' }).apply([add, mul]) as tf.SymbolicTensor;
  const max = L.maximum({ name: 'max' }).apply([b, r]) as tf.SymbolicTensor;
  x = L.concatenate({ name: 'cat' }).apply([avg, max, add]) as tf.SymbolicTensor;
  x = L.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(x) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'bn_alone' }).apply(x) as tf.SymbolicTensor;
  x = L.zeroPadding2d({
    padding: [
      [1, 2],
      [0, 1],
    ],
    name: 'zpad',
  }).apply(x) as tf.SymbolicTensor;
  x = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxpool' }).apply(x) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 6, kernelSize: 2, activation: 'selu', name: 'c_selu' }).apply(x) as tf.SymbolicTensor;
  x = L.elu({ name: 'elu07' }).apply(x) as tf.SymbolicTensor;
  const pooled = L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: 'avgpool' }).apply(x) as tf.SymbolicTensor;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(pooled) as tf.SymbolicTensor;
  const gmp = L.globalMaxPooling2d({ name: 'gmp' }).apply(pooled) as tf.SymbolicTensor;
  const flat = L.flatten({ name: 'flat' }).apply(pooled) as tf.SymbolicTensor;
  let h = L.concatenate({ name: 'cat2' }).apply([gap, gmp, flat]) as tf.SymbolicTensor;
  h = L.dense({ units: 12, activation: 'softplus', name: 'd_softplus' }).apply(h) as tf.SymbolicTensor;
  h = L.dropout({ rate: 0.3, name: 'drop' }).apply(h) as tf.SymbolicTensor;
  h = L.reshape({ targetShape: [3, 4], name: 'rs' }).apply(h) as tf.SymbolicTensor;
  h = L.flatten({ name: 'flat2' }).apply(h) as tf.SymbolicTensor;
  const out = L.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  const r0 = rng(3);
  model.setWeights(
    model.weights.map((w) =>
      tf.tensor(
        Float32Array.from({ length: (w.shape as number[]).reduce((a, b) => a * b, 1) }, () => (w.name.includes('variance') ? 0.5 + r0() : (r0() * 2 - 1) * 0.6)),
        w.shape as number[],
      ),
    ),
  );
  return { model, targets: ['c1_relu', 'dw_relu', 'add', 'mul', 'avg', 'max', 'cat', 'leaky', 'bn_alone', 'zpad', 'maxpool', 'c_selu', 'elu07', 'avgpool', 'gap', 'gmp', 'd_softplus', 'flat2', 'probs'] };
}

describe('every RULES layer type: lean gradient on wasm = model gradient on cpu', () => {
  before(async () => {
    await selectBackend('wasm');
  });
  it('zoo model, every layer a target', async () => {
    await tf.setBackend('cpu');
    const { model, targets } = zoo();
    const graphs = { fused: buildLeanGraph(specFromLayersModel(model)), unfused: buildLeanGraph(specFromLayersModel(model), { fuse: false }) };
    await tf.setBackend('wasm');
    const x = random([2, 15, 13, 3], 11, 2) as tf.Tensor4D;
    for (const [i, t] of targets.entries()) await compare(model, graphs, t, x, 70 + i).catch((err: Error) => assert.fail(`${t}: ${err.message}`));
  });
});
