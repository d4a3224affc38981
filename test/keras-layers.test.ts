/**
 * Layer types a Keras file may hold, each against tf.layers on the cpu backend (1e-4): the model is
 * saved as a Keras 2 `.h5` (test/support/keras-writer.ts), read back through the `.h5` reader and
 * lowered; its lean graph must equal the LayersModel it came from, layer by layer.
 * Layers tf.layers cannot express or serializes unlike Keras (Softmax's axis, Resizing) are in
 * keras-layers-reference.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { buildLeanGraph, type LeanGraph } from '../pipeline/engine/graph.ts';
import { readKerasH5 } from '../pipeline/model/formats/keras.ts';
import { onBackend, relErr, rng } from './support/engine.ts';
import { keras2FromLayersModel } from './support/keras-writer.ts';

type Sym = tf.SymbolicTensor;
const L = tf.layers;

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale),
    shape,
  );
}

/** Seeded weights (variances positive) so that no layer is the identity by accident. */
function randomize(model: tf.LayersModel, seed: number): void {
  const r = rng(seed);
  model.setWeights(
    model.weights.map((w) =>
      tf.tensor(
        Float32Array.from({ length: (w.shape as number[]).reduce((a, b) => a * b, 1) }, () => (w.name.includes('variance') ? 0.5 + r() : (r() * 2 - 1) * 0.6)),
        w.shape as number[],
      ),
    ),
  );
}

async function compareLayers(model: tf.LayersModel, targets: string[], inShape: number[], windowsNames = false): Promise<void> {
  const graph: LeanGraph = buildLeanGraph(await readKerasH5(await keras2FromLayersModel(model, windowsNames ? '\\' : '/'), 'layers.h5'));
  try {
    for (const t of targets) {
      const cut = tf.model({ inputs: model.inputs, outputs: model.getLayer(t).output as Sym });
      const [ref, lean] = await onBackend('cpu', () => {
        const x = random([2, ...inShape], 5, 2);
        return [cut.predict(x) as tf.Tensor, graph.run(x as tf.Tensor4D, [t])[0]!];
      });
      assert.ok(relErr(lean!, ref!) < 1e-4, `${t}: rel err ${relErr(lean!, ref!)}`);
    }
  } finally {
    graph.dispose();
  }
}

before(async () => {
  await tf.setBackend('cpu');
});

it('SeparableConv2D (depth multiplier 2, strides 2), dilated Conv2D, DepthwiseConv2D with bias and swish', async () => {
  const inp = tf.input({ shape: [11, 9, 4] });
  let x = L.separableConv2d({ filters: 6, kernelSize: 3, strides: 2, depthMultiplier: 2, padding: 'same', activation: 'relu', name: 'sep' }).apply(inp) as Sym;
  x = L.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dil' }).apply(x) as Sym;
  x = L.depthwiseConv2d({ kernelSize: 3, useBias: true, activation: 'swish', name: 'dw_swish' }).apply(x) as Sym;
  const model = tf.model({ inputs: inp, outputs: x });
  randomize(model, 1);
  await compareLayers(model, ['sep', 'dil', 'dw_swish'], [11, 9, 4]);
});

it('LayerNormalization, GELU, mish, softsign activations, ReLU with a cap other than 6, softmax activation', async () => {
  const inp = tf.input({ shape: [6, 6, 5] });
  let x = L.layerNormalization({ epsilon: 1e-6, name: 'ln' }).apply(inp) as Sym;
  const g = L.activation({ activation: 'gelu', name: 'gelu' }).apply(x) as Sym;
  const m = L.activation({ activation: 'mish', name: 'mish' }).apply(g) as Sym;
  const s = L.activation({ activation: 'softsign', name: 'softsign' }).apply(m) as Sym;
  const r = L.reLU({ maxValue: 0.5, name: 'relu_cap' }).apply(s) as Sym;
  x = L.activation({ activation: 'softmax', name: 'softmax' }).apply(r) as Sym;
  const model = tf.model({ inputs: inp, outputs: x });
  randomize(model, 2);
  await compareLayers(model, ['ln', 'gelu', 'mish', 'softsign', 'relu_cap', 'softmax'], [6, 6, 5]);
});

it('Rescaling, UpSampling2D, Cropping2D, Minimum, Dense on a feature map', async () => {
  const inp = tf.input({ shape: [10, 12, 3] });
  const scaled = L.rescaling({ scale: 1 / 127.5, offset: -1, name: 'scale' }).apply(inp) as Sym;
  const up = L.upSampling2d({ size: [2, 3], name: 'up' }).apply(scaled) as Sym;
  const crop = L.cropping2D({
    cropping: [
      [1, 2],
      [0, 3],
    ],
    name: 'crop',
  }).apply(up) as Sym;
  const a = L.conv2d({ filters: 4, kernelSize: 1, name: 'a' }).apply(crop) as Sym;
  const b = L.conv2d({ filters: 4, kernelSize: 1, name: 'b' }).apply(crop) as Sym;
  const min = L.minimum({ name: 'min' }).apply([a, b]) as Sym;
  const dense = L.dense({ units: 3, name: 'dense_map' }).apply(min) as Sym;
  const model = tf.model({ inputs: inp, outputs: dense });
  randomize(model, 3);
  await compareLayers(model, ['scale', 'up', 'crop', 'min', 'dense_map'], [10, 12, 3]);
});

it('weights saved on Windows (backslashes in weight names) load the same', async () => {
  const inp = tf.input({ shape: [8, 8, 3] });
  let x = L.conv2d({ filters: 4, kernelSize: 3, useBias: false, name: 'conv' }).apply(inp) as Sym;
  x = L.batchNormalization({ name: 'conv_bn' }).apply(x) as Sym;
  x = L.activation({ activation: 'relu', name: 'conv_relu' }).apply(x) as Sym;
  const model = tf.model({ inputs: inp, outputs: x });
  randomize(model, 4);
  await compareLayers(model, ['conv_bn', 'conv_relu'], [8, 8, 3], true);
});
