/**
 * Graphs read from ONNX files run on the ONNX gradient engine as Keras graphs do: for the ops the
 * converter emits (channel-shuffle and slice selections as dense nodes over maps, block-diagonal
 * grouped convs, SiLU and hard swish, squeeze-excite merges, explicit pads), the engine's value and
 * input gradient equal TF.js's autodiff through the lean graph (cpu backend).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, it } from 'node:test';
import type { Objective } from '../pipeline/engine/engine.ts';
import { leanGraphOf } from '../pipeline/engine/graph.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { loadOrt } from '../pipeline/engine/onnx/runtime.ts';
import { readOnnx } from '../pipeline/model/formats/onnx.ts';
import { MODELS } from './support/fixtures.ts';
import { relErr, rng } from './support/engine.ts';

const ONNX = path.join(MODELS, 'onnx');
const skip = fs.existsSync(ONNX) ? false : `no ${ONNX}`;

before(async () => {
  await tf.setBackend('cpu');
});

/** The mean of channel 3 of a node: linear, as a filter objective. */
const channelMean = (node: string): Objective => ({
  read: { node, pre: false, redirect: false },
  linear: true,
  head: (a) =>
    tf.mean(
      tf.gather(a, [3], a.rank - 1),
      a.shape.slice(1).map((_, i) => i + 1),
    ) as tf.Tensor1D,
});

const CASES: [string, string[]][] = [
  ['shufflenet_v2_x0_5', ['stage2.1', 'stage2.2.branch2.5']],
  ['mobilenet_v3_small', ['features.4.block.2', 'features.2.block.0.2']],
  ['efficientnet_b0', ['features.2.0.block.1.2']],
  ['resnet18', ['layer1.1.relu']],
];

for (const [id, nodes] of CASES) {
  it(`${id}: the ONNX engine's value and input gradient equal TF.js's at ${nodes.join(', ')}`, { skip }, async () => {
    const file = path.join(ONNX, id, 'model.onnx');
    const { lowered } = readOnnx(fs.readFileSync(file), file);
    const graph = leanGraphOf(lowered, { file });
    const engine = new OnnxEngine(lowered.nodes, { ort: await loadOrt(), provider: 'cpu' });
    try {
      for (const node of nodes) {
        const objective = channelMean(node);
        const g = rng(5);
        const x = tf.tensor4d(
          Float32Array.from({ length: 64 * 64 * 3 }, () => g() * 4 - 2),
          [1, 64, 64, 3],
        );
        const [value, grad] = tf.tidy(() => [objective.head(graph.run(x, [node])[0]!), tf.grad((t: tf.Tensor) => tf.sum(objective.head(graph.run(t as tf.Tensor4D, [node])[0]!)))(x)]);
        const got = await engine.valueAndGrad(objective, x);
        const e = { value: relErr(got.value.dataSync() as Float32Array, value!.dataSync() as Float32Array), grad: relErr(got.grad.dataSync() as Float32Array, grad!.dataSync() as Float32Array) };
        tf.dispose([x, value!, grad!, got.value, got.grad]);
        assert.ok(e.value < 1e-4 && e.grad < 1e-4, `${id} ${node}: relative error: value ${e.value}, gradient ${e.grad}`);
      }
    } finally {
      graph.dispose();
      engine.dispose();
    }
  });
}
