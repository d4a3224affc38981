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
import onnxProto from 'onnx-proto';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { buildLoweredGraph, type LeanGraph } from '../pipeline/engine/graph.ts';
import { loadOrt } from '../pipeline/engine/onnx/runtime.ts';
import { readOnnx } from '../pipeline/model/formats/onnx.ts';
import { loadModel } from '../pipeline/model/read.ts';
import { MODELS } from './support/fixtures.ts';
import { relErr, rng } from './support/engine.ts';

const { onnx } = onnxProto;
const ONNX = path.join(MODELS, 'onnx');
const skip = fs.existsSync(ONNX) ? false : `no ${ONNX}`;
const FIXTURES = ['mobilenet_v1_0.25_torch', 'mobilenet_v1_0.75_torch', 'squeezenet1_1', 'shufflenet_v2_x0_5', 'mobilenet_v3_small', 'resnet18', 'efficientnet_b0', 'googlenet'];

before(async () => {
  await selectBackend('wasm');
});

/** The file with extra graph outputs, so ONNX Runtime returns those intermediate tensors. */
function withOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const name of names) model.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  return onnx.ModelProto.encode(model).finish();
}

/** NCHW (ONNX) → the lean graph's NHWC, for a rank-4 tensor; other ranks as they are. */
function toNhwc(data: Float32Array, dims: readonly number[]): Float32Array {
  if (dims.length !== 4) return data;
  const [, c, h, w] = dims as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y * w + x) * c + ci] = data[(ci * h + y) * w + x]!;
  return out;
}

/** A few feature-map nodes spread over the graph (each holding an ONNX tensor), and the output. */
function pickNodes(graph: LeanGraph, tensors: Map<string, string>, count = 4): string[] {
  const maps = graph.lowered.filter((n) => n.outputShape.length === 3 && tensors.has(n.name) && n.op.op !== 'input');
  const picked = Array.from({ length: count }, (_, i) => maps[Math.floor(((i + 1) * maps.length) / (count + 1))]!.name);
  return [...new Set([...picked, graph.outputName])];
}

for (const id of FIXTURES) {
  it(`${id}: mapped nodes equal ONNX Runtime running the original file`, { skip }, async (t) => {
    const file = path.join(ONNX, id, 'model.onnx');
    const bytes = fs.readFileSync(file);
    const { lowered, tensors } = readOnnx(bytes, file);
    const graph = buildLoweredGraph(lowered, { file });
    try {
      const targets = pickNodes(graph, tensors);
      const [h, w, c] = graph.inputShape;
      const random = rng(7);
      // torch-normalized pixels: roughly N(0, 1).
      const nchw = Float32Array.from({ length: c * h * w }, () => (random() - 0.5) * 4);
      const ort = await loadOrt();
      const session = await ort.InferenceSession.create(
        withOutputs(
          bytes,
          targets.map((t) => tensors.get(t)!),
        ),
      );
      const expected = await session.run({ [lowered.inputName]: new ort.Tensor('float32', nchw, [1, c, h, w]) });
      const actual = tf.tidy(() => graph.run(tf.tensor4d(toNhwc(nchw, [1, c, h, w]), [1, h, w, c]), targets).map((t) => t.dataSync() as Float32Array));
      targets.forEach((name, i) => {
        const ref = expected[tensors.get(name)!]!;
        const err = relErr(actual[i]!, toNhwc(ref.data as Float32Array, ref.dims));
        t.diagnostic(`${name}: relative error ${err.toExponential(2)}`);
        assert.ok(err < 1e-4, `${id} ${name} (${tensors.get(name)}): relative error ${err}`);
      });
    } finally {
      graph.dispose();
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
