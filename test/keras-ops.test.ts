/**
 * What keras.applications builds with plain tensor arithmetic and grouped convolutions, from
 * configs as Keras writes them: MobileNetV3's hard sigmoid `ReLU(6)(x + 3) * (1 / 6)` as Keras 2
 * TFOpLambda layers (the constant in the call's kwargs) and as Keras 3 op nodes (the constant in
 * the call's args), and ConvNeXt's `Conv2D(groups=channels)`. References written here (cpu, 1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { specFromConfig } from '../pipeline/model/keras-config.ts';
import type { Weight } from '../pipeline/model/spec.ts';
import { relErr, rng } from './support/engine.ts';

const SHAPE: [number, number, number] = [4, 5, 6];

function input(seed: number): tf.Tensor4D {
  const r = rng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: 2 * 4 * 5 * 6 }, () => (r() * 2 - 1) * 5),
    [2, ...SHAPE],
  );
}

/** Lean output of `target` for a Keras model config with the given weights per layer name. */
function run(config: unknown, target: string, x: tf.Tensor4D, weights: Record<string, Weight[]> = {}): Float32Array {
  const graph = buildLeanGraph(specFromConfig(config, (layer) => weights[layer.name] ?? [], 'test'));
  try {
    return tf.tidy(() => graph.run(x, [target])[0]!.dataSync() as Float32Array);
  } finally {
    graph.dispose();
  }
}

const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

before(async () => {
  await tf.setBackend('cpu');
});

it('Keras 2: MobileNetV3 hard swish as TFOpLambda (x + 3.0, * 1/6) and Multiply', () => {
  const layer = (class_name: string, name: string, inbound: unknown[], config: object = {}) => ({ class_name, name, config: { name, ...config }, inbound_nodes: [inbound] });
  const config = {
    class_name: 'Functional',
    config: {
      name: 'v3',
      layers: [
        { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, ...SHAPE] }, inbound_nodes: [] },
        layer('TFOpLambda', 'tf.__operators__.add', [['in', 0, 0, { y: 3.0, name: null }]], { function: '__operators__.add' }),
        layer('ReLU', 're_lu', [['tf.__operators__.add', 0, 0, {}]], { max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }),
        layer('TFOpLambda', 'tf.math.multiply', [['re_lu', 0, 0, { y: 0.16666666666666666, name: null }]], { function: 'math.multiply' }),
        layer('Multiply', 'multiply', [
          ['in', 0, 0, {}],
          ['tf.math.multiply', 0, 0, {}],
        ]),
      ],
      input_layers: [['in', 0, 0]],
      output_layers: [['multiply', 0, 0]],
    },
  };
  const x = input(1);
  const xs = x.dataSync() as Float32Array;
  const out = run(config, 'multiply', x);
  assert.ok(relErr(out, Float32Array.from(xs, hardSwish)) < 1e-4, `rel err ${relErr(out, Float32Array.from(xs, hardSwish))}`);
});

it('Keras 3: op nodes with constants in their args (3 − x, x / 2, x + y)', () => {
  const tensor = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, ...SHAPE], dtype: 'float32', keras_history: [name, 0, 0] } });
  const op = (class_name: string, name: string, args: unknown[]) => ({
    module: 'keras.src.ops.numpy',
    class_name,
    config: { name },
    registered_name: class_name,
    name,
    inbound_nodes: [{ args, kwargs: {} }],
  });
  const config = {
    module: 'keras',
    class_name: 'Functional',
    config: {
      name: 'ops',
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, ...SHAPE], dtype: 'float32', name: 'in' }, registered_name: null, name: 'in', inbound_nodes: [] },
        op('Subtract', 'subtract', [3, tensor('in')]),
        op('Divide', 'divide', [tensor('subtract'), 2]),
        op('Add', 'add', [tensor('divide'), tensor('in')]),
      ],
      input_layers: ['in', 0, 0],
      output_layers: ['add', 0, 0],
    },
  };
  const x = input(2);
  const xs = x.dataSync() as Float32Array;
  const expected = Float32Array.from(xs, (v) => (3 - v) / 2 + v);
  const out = run(config, 'add', x);
  assert.ok(relErr(out, expected) < 1e-4, `rel err ${relErr(out, expected)}`);
});

it('ConvNeXt: Conv2D with groups = channels equals a convolution per channel', () => {
  const [kh, kw, c, m] = [3, 3, SHAPE[2], 2];
  const r = rng(3);
  const kernel: Weight = { shape: [kh, kw, 1, c * m], data: Float32Array.from({ length: kh * kw * c * m }, () => r() * 2 - 1) };
  const bias: Weight = { shape: [c * m], data: Float32Array.from({ length: c * m }, () => r() - 0.5) };
  const config = {
    class_name: 'Sequential',
    config: {
      name: 'grouped',
      layers: [
        { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, ...SHAPE] } },
        {
          class_name: 'Conv2D',
          config: { name: 'dwconv', filters: c * m, kernel_size: [kh, kw], strides: [1, 1], padding: 'same', groups: c, activation: 'linear', use_bias: true, dilation_rate: [1, 1] },
        },
      ],
    },
  };
  const x = input(4);
  const out = run(config, 'dwconv', x, { dwconv: [kernel, bias] });
  // Group g: input channel g convolved with kernel outputs g·m … g·m + m − 1.
  const expected = tf.tidy(() => {
    const k = tf.tensor4d(kernel.data, kernel.shape as [number, number, number, number]);
    const groups = Array.from({ length: c }, (_, g) => tf.conv2d(x.slice([0, 0, 0, g], [-1, -1, -1, 1]), k.slice([0, 0, 0, g * m], [-1, -1, -1, m]) as tf.Tensor4D, 1, 'same'));
    return tf.add(tf.concat(groups, 3), tf.tensor1d(bias.data)).dataSync() as Float32Array;
  });
  assert.ok(relErr(out, expected) < 1e-4, `rel err ${relErr(out, expected)}`);
});
