/**
 * The ONNX engine against the TF.js lean graph (cpu backend, tf.valueAndGrad through graph.run) on
 * whole models: both shared MobileNets (layer outputs, a pre-activation, a redirected ReLU), the
 * ResNet50V2 and VGG16 topologies of bench/architectures.ts (seeded weights), and the shared Keras
 * files (.h5 / .keras: ImageNet and VWW MobileNets, MobileNetV2 nested in a Teachable Machine model,
 * CNNs with Flatten → Dense → softmax, augmentation and Rescaling layers), up to their logits.
 * Small inputs (64 px where the model allows) keep the cpu reference fast; the ONNX model is
 * compiled for that size.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resnet50v2, vgg16 } from '../bench/architectures.ts';
import { pickBatchSize } from '../pipeline/engine/batch-size.ts';
import type { FeatureRead, GradientEngine, Objective } from '../pipeline/engine/engine.ts';
import { resolvePads } from '../pipeline/engine/conv-ops.ts';
import { buildLeanGraph, type LeanGraph } from '../pipeline/engine/graph.ts';
import { lowerSpec } from '../pipeline/engine/lower.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { loadOrt, type OrtModule } from '../pipeline/engine/onnx/runtime.ts';
import { specFromLayersModel } from '../pipeline/model/from-layers.ts';
import { loadModelSpec } from '../pipeline/model/load.ts';
import type { ModelSpec } from '../pipeline/model/spec.ts';
import { modelsDir, relErr, rng, sharedModel } from './support/engine.ts';

let ort: OrtModule | undefined;
const skip = await loadOrt().then(
  (m) => ((ort = m), false as const),
  (err: Error) => `onnxruntime-node cannot load here: ${err.message.split('\n')[0]}`,
);
const SIZE = 64;

/** The read as the TF.js engine computes it: the node's output, its pre-activation, or redirected. */
function tfjsRead(graph: LeanGraph, read: FeatureRead, x: tf.Tensor4D): tf.Tensor {
  const node = graph.nodes.find((n) => n.name === read.node)!;
  if (read.pre && node.relu) return node.relu.pre(graph.run(x, node.inputs));
  return graph.run(x, [read.node], { redirect: read.redirect })[0]!;
}

/**
 * Max-pool windows whose two largest values lie within float rounding (2e-6 relative): max pooling's
 * gradient is discontinuous there, so engines whose convolutions round differently may send such a
 * window's gradient to different elements, both correctly. Test inputs must have none.
 */
function nearTies(graph: LeanGraph, x: tf.Tensor4D, before: string): number {
  let count = 0;
  for (const node of graph.nodes.slice(
    0,
    graph.nodes.findIndex((n) => n.name === before),
  )) {
    if (node.op.op !== 'pool2d' || node.op.reduce !== 'max' || node.op.size[0] * node.op.size[1] === 1) continue;
    const { size, strides, padding } = node.op;
    const a = tf.tidy(() => graph.run(x, node.inputs)[0]!);
    const [n, h, w, c] = a.shape as [number, number, number, number];
    const v = a.dataSync();
    a.dispose();
    const pads = resolvePads(h, w, size, strides, padding);
    const [oh, ow] = [Math.floor((h + pads[0][0] + pads[0][1] - size[0]) / strides[0]) + 1, Math.floor((w + pads[1][0] + pads[1][1] - size[1]) / strides[1]) + 1];
    for (let b = 0; b < n; b++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let ch = 0; ch < c; ch++) {
            const vals: number[] = [];
            for (let di = 0; di < size[0]; di++)
              for (let dj = 0; dj < size[1]; dj++) {
                const [r, q] = [i * strides[0] + di - pads[0][0], j * strides[1] + dj - pads[1][0]];
                if (r >= 0 && r < h && q >= 0 && q < w) vals.push(v[((b * h + r) * w + q) * c + ch]!);
              }
            vals.sort((p, q) => q - p);
            if (vals.length > 1 && vals[0] !== vals[1] && vals[0]! - vals[1]! < 2e-6 * Math.abs(vals[0]!)) count++;
          }
  }
  return count;
}

/** Channel objective as the render loop has it: mean of channel 3 (or the last) over the map, per image. */
function channelMean(read: FeatureRead): Objective {
  return {
    read,
    linear: true,
    head: (a) =>
      tf.mean(
        tf.gather(a, [Math.min(3, a.shape[a.rank - 1]! - 1)], a.rank - 1),
        a.shape.slice(1).map((_, i) => i + 1),
      ) as tf.Tensor1D,
  };
}

interface Model {
  label: string;
  spec: () => Promise<ModelSpec>;
  reads: FeatureRead[];
  /** Input size (default 64; a Flatten fixes some models' size). */
  size?: number;
  /** Also read the model's pre-softmax logits. */
  logits?: boolean;
}

const read = (node: string, extra: Partial<FeatureRead> = {}): FeatureRead => ({ node, pre: false, redirect: false, ...extra });
const fromLayers = (make: () => tf.LayersModel) => async () => {
  const model = make();
  const spec = specFromLayersModel(model);
  model.dispose();
  return spec;
};
const shared = (id: string) => async () => (await loadModelSpec(sharedModel(id)!)).spec;

const MODELS: (Model & { skip?: string })[] = [
  ...['mobilenet_v1_0.75_224', 'mobilenet_v1_0.25_224'].map((id) => ({
    label: id,
    spec: shared(id),
    reads: [read('conv_pw_13_relu'), read('conv_dw_5_relu', { pre: true }), read('conv_pw_7_relu', { redirect: true }), read('conv_pw_2_relu')],
    ...(sharedModel(id) ? {} : { skip: `${id} is not in the shared models folder` }),
  })),
  {
    label: 'ResNet50V2 topology',
    spec: fromLayers(() => resnet50v2({ size: SIZE, until: 'conv3', seed: 3 })),
    reads: [read('conv3_block4_out'), read('pool1_pool'), read('conv2_block3_2_relu', { pre: true })],
  },
  { label: 'VGG16 topology', spec: fromLayers(() => vgg16({ size: SIZE, seed: 4 })), reads: [read('block5_conv3'), read('block3_pool'), read('block4_conv2', { redirect: true })] },
  ...(
    [
      ['ImageNet MobileNet .h5', 'mobilenet_v1_0.25_224_imagenet/mobilenet_v1_0.25_224.h5', [read('conv_pw_13_relu'), read('conv_pw_1_relu', { pre: true })], 64, true],
      ['VWW MobileNet .h5', 'mobilenet_v1_0.25_96_vww/mobilenet_v1_0.25_96.h5', [read('activation_26'), read('activation', { redirect: true })], 96, false],
      ['MNIST CNN .keras', 'mnist_cnn/model.keras', [read('conv2d_8')], 28, true],
      // The potato CNNs' pools hold windows tied within rounding for every input tried (channels
      // where the bias dominates), where engines legitimately differ: read before the first pool.
      ['potato CNN .keras', 'potato_cnn/potatoes.keras', [read('conv2d_6'), read('conv2d_6', { pre: true })], 256, false],
      ['potato with augmentation and Rescaling .h5', 'potato_augment_rescaling/potato_pretrain_model.h5', [read('conv2d'), read('conv2d', { redirect: true })], 64, false],
      [
        'Teachable Machine MobileNetV2 .h5',
        'teachable_machine_mobilenetv2/keras_model.h5',
        [read('sequential_1/model1/block_16_project'), read('sequential_1/model1/Conv1_relu', { redirect: true })],
        64,
        true,
      ],
    ] as [string, string, FeatureRead[], number, boolean][]
  ).map(([label, file, reads, size, logits]): Model & { skip?: string } => {
    const full = path.join(modelsDir(), 'keras', file);
    return { label, spec: async () => (await loadModelSpec(full)).spec, reads, size, logits, ...(fs.existsSync(full) ? {} : { skip: `${full} is not in the shared models folder` }) };
  }),
];

for (const m of MODELS) {
  describe(`onnx engine equals the TF.js lean graph: ${m.label}`, { skip: skip || m.skip }, () => {
    let graph: LeanGraph;
    let engine: OnnxEngine;
    const size = m.size ?? SIZE;
    const reads = [...m.reads];
    before(async () => {
      await tf.setBackend('cpu');
      const spec = await m.spec();
      graph = buildLeanGraph(spec);
      const lowered = lowerSpec(spec);
      engine = new OnnxEngine(lowered.nodes, { ort: ort!, provider: 'cpu' });
      if (m.logits) reads.push(read(lowered.logitNode!));
    });
    after(() => {
      graph?.dispose();
      engine?.dispose();
    });
    it('each read', async (t) => {
      for (const r of reads)
        await t.test(`${r.node}${r.pre ? ' (pre-activation)' : ''}${r.redirect ? ' (redirected)' : ''}`, async () => {
          const g = rng(12);
          const shape = [2, size, size, graph.inputShape[2]] as [number, number, number, number];
          const x = tf.tensor4d(
            Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => g() * 2 - 1),
            shape,
          );
          assert.equal(nearTies(graph, x, r.node), 0, 'the test input has max-pool windows tied within rounding: pick another seed');
          const objective = channelMean(r);
          const ref = tf.tidy(() => {
            const value = objective.head(tfjsRead(graph, r, x));
            const grad = tf.grad((t: tf.Tensor) => tf.sum(objective.head(tfjsRead(graph, r, t as tf.Tensor4D))))(x);
            return [value, grad];
          });
          const got = await engine.valueAndGrad(objective, x);
          const e = { value: relErr(got.value.dataSync() as Float32Array, ref[0]!.dataSync() as Float32Array), grad: relErr(got.grad.dataSync() as Float32Array, ref[1]!.dataSync() as Float32Array) };
          tf.dispose([x, ...ref, got.value, got.grad]);
          assert.ok(e.value < 1e-4 && e.grad < 1e-4, `relative error: value ${e.value}, gradient ${e.grad}`);
        });
    });
  });
}

describe('batch probe', { skip: skip || (sharedModel('mobilenet_v1_0.25_224') ? false : 'mobilenet_v1_0.25_224 is not in the shared models folder') }, () => {
  it('times the engine the run renders with (here ONNX Runtime), at each candidate batch', async () => {
    await tf.setBackend('cpu');
    const { spec } = await loadModelSpec(sharedModel('mobilenet_v1_0.25_224')!);
    const graph = buildLeanGraph(spec);
    const onnx = new OnnxEngine(lowerSpec(spec).nodes, { ort: ort!, provider: 'cpu' });
    const seen: number[] = [];
    const engine: GradientEngine = {
      ...onnx,
      name: onnx.name,
      features: (r, x) => onnx.features(r, x),
      dispose: () => onnx.dispose(),
      valueAndGrad: (o, x) => (seen.push(x.shape[0]), onnx.valueAndGrad(o, x)),
    };
    try {
      const choice = await pickBatchSize(engine, graph, 'conv_pw_2_relu', [64, 64], { units: 4, steps: 1, budgetBytes: 1e9 });
      // One warm-up and one timed step per candidate, each on the engine.
      assert.deepEqual(seen, [1, 1, 2, 2, 4, 4]);
      assert.deepEqual(
        choice.probes.map((p) => p.batch),
        [1, 2, 4],
      );
      assert.ok(choice.probes.every((p) => p.msPerStep > 0));
      assert.ok([1, 2, 4].includes(choice.batch));
    } finally {
      graph.dispose();
      onnx.dispose();
    }
  });
});
