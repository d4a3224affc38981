/**
 * The ONNX exports in ../shared/models/onnx (README there) load into the lean graph and compute
 * what ONNX Runtime computes running the original file: at a few mapped nodes of each (feature maps
 * NCHW there, NHWC here) and at the output. The two MobileNet v1 ports carry the TF.js models' real
 * weights: their features equal the TF.js models' at several layers.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, it } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { loadModel } from '../pipeline/model/read.ts';
import { MODELS } from './support/fixtures.ts';
import { relErr, rng } from './support/engine.ts';
import { compareWithOrt } from './support/onnx-compare.ts';

const ONNX = path.join(MODELS, 'onnx');
const skip = fs.existsSync(ONNX) ? false : `no ${ONNX}`;
const FIXTURES = ['mobilenet_v1_0.25_torch', 'mobilenet_v1_0.75_torch', 'squeezenet1_1', 'shufflenet_v2_x0_5', 'mobilenet_v3_small', 'resnet18', 'efficientnet_b0', 'googlenet'];

before(async () => {
  await selectBackend('wasm');
});

for (const id of FIXTURES) {
  it(`${id}: mapped nodes equal ONNX Runtime running the original file`, { skip }, async (t) => {
    const file = path.join(ONNX, id, 'model.onnx');
    const errors = await compareWithOrt(fs.readFileSync(file), file);
    assert.ok(errors.length >= 4, `${id}: nodes compared`);
    for (const e of errors) {
      t.diagnostic(`${e.node}: relative error ${e.error.toExponential(2)}`);
      assert.ok(e.error < 1e-4, `${id} ${e.node} (${e.tensor}): relative error ${e.error}`);
    }
  });
}

it('the MobileNet v1 ports (real weights) equal the TF.js MobileNets at several layers', { skip }, async (t) => {
  for (const [port, tfjs] of [
    ['mobilenet_v1_0.25_torch', 'mobilenet_v1_0.25_224'],
    ['mobilenet_v1_0.75_torch', 'mobilenet_v1_0.75_224'],
  ] as const) {
    if (!fs.existsSync(path.join(MODELS, tfjs))) continue;
    const a = await loadModel(path.join(ONNX, port, 'model.onnx'));
    const b = await loadModel(path.join(MODELS, tfjs));
    try {
      const layers = ['conv_pw_1_relu', 'conv_pw_5_relu', 'conv_pw_11_relu', 'conv_pw_13_relu'];
      const random = rng(3);
      const pixels = Float32Array.from({ length: 224 * 224 * 3 }, () => random());
      const mean = [0.485, 0.456, 0.406];
      const std = [0.229, 0.224, 0.225];
      const [ya, yb] = tf.tidy(() => {
        // The port takes torchvision-normalized pixels, the TF.js model [-1, 1]: the same image.
        const torchIn = tf.tensor4d(
          pixels.map((v, i) => (v - mean[i % 3]!) / std[i % 3]!),
          [1, 224, 224, 3],
        );
        const tfIn = tf.tensor4d(
          pixels.map((v) => v * 2 - 1),
          [1, 224, 224, 3],
        );
        return [a.graph.run(torchIn, [...layers.map((l) => `net.${l}`), a.graph.outputName]), b.graph.run(tfIn, [...layers, b.graph.logitNode!])].map((ts) => ts.map((t) => t.dataSync() as Float32Array));
      });
      [...layers, 'logits'].forEach((l, i) => {
        const err = relErr(ya![i]!, yb![i]!);
        t.diagnostic(`${port} ${l}: relative error ${err.toExponential(2)}`);
        assert.ok(err < 1e-4, `${port} ${l}: relative error ${err} against ${tfjs}`);
      });
    } finally {
      a.graph.dispose();
      b.graph.dispose();
    }
  }
});
