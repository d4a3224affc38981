/**
 * Layer types tf.layers cannot express (Normalization, LayerScale, Keras 3 activations, keepdims
 * pooling, augmentation layers) or serializes unlike Keras (Softmax's axis, Resizing), each as a
 * one-layer ModelSpec in Keras's own config keys, against a reference written here from Keras's
 * definition, on the cpu backend (1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import type { LayerSpec, ModelSpec, Weight } from '../pipeline/model/spec.ts';
import { relErr, rng } from './support/engine.ts';

const IN: [number, number, number] = [5, 6, 3];

function values(n: number, seed: number, lo = -3, hi = 3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

function w(data: Float32Array, shape = [data.length]): Weight {
  return { shape, data };
}

function spec(layers: Omit<LayerSpec, 'weights'>[] | LayerSpec[], dialect: 2 | 3 = 2, inShape = IN): ModelSpec {
  const input: LayerSpec = { name: 'in', className: 'InputLayer', config: {}, inbound: [], weights: [] };
  const all = [input, ...layers.map((l) => ({ weights: [], ...l }))];
  return { name: 'reference', inputName: 'in', inputShape: inShape, layers: all, outputs: [all[all.length - 1]!.name], dialect };
}

/** One layer on `in`, run on x. */
function runOne(className: string, config: Record<string, unknown>, x: tf.Tensor, weights: Weight[] = [], dialect: 2 | 3 = 2): Float32Array {
  const graph = buildLeanGraph(spec([{ name: 'l', className, config, inbound: ['in'], weights }], dialect, x.shape.slice(1) as [number, number, number]));
  try {
    return tf.tidy(() => graph.run(x as tf.Tensor4D, ['l'])[0]!.dataSync() as Float32Array);
  } finally {
    graph.dispose();
  }
}

function close(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(relErr(actual, expected) < 1e-4, `${what}: rel err ${relErr(actual, expected)}`);
}

const input = () => tf.tensor4d(values(2 * IN[0] * IN[1] * IN[2], 1), [2, ...IN]);
const map = (x: Float32Array, f: (v: number, i: number) => number) => Float32Array.from(x, f);

before(async () => {
  await tf.setBackend('cpu');
});

it('Normalization: (x − mean) / √variance per channel; LayerScale: x · gamma per channel', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const mean = values(3, 2);
  const variance = values(3, 3, 0.5, 2);
  close(
    runOne('Normalization', { axis: -1 }, x, [w(mean), w(variance), w(new Float32Array([10]), [])]),
    map(xs, (v, i) => (v - mean[i % 3]!) / Math.sqrt(variance[i % 3]!)),
    'Normalization (weights)',
  );
  close(
    runOne('Normalization', { axis: -1, mean: [1, 2, 3], variance: [4, 9, 16] }, x),
    map(xs, (v, i) => (v - (i % 3) - 1) / ((i % 3) + 2)),
    'Normalization (config)',
  );
  const gamma = values(3, 4);
  close(
    runOne('LayerScale', { init_values: 1e-6, projection_dim: 3 }, x, [w(gamma)]),
    map(xs, (v, i) => v * gamma[i % 3]!),
    'LayerScale',
  );
});

it('activations by Keras definition: hard_sigmoid (Keras 2 and 3), hard_swish, silu, Keras 3 serialized activation, leaky ReLU', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);
  close(
    runOne('Activation', { activation: 'hard_sigmoid' }, x, [], 2),
    map(xs, (v) => Math.min(Math.max(0.2 * v + 0.5, 0), 1)),
    'hard_sigmoid, Keras 2',
  );
  close(
    runOne('Activation', { activation: 'hard_sigmoid' }, x, [], 3),
    map(xs, (v) => relu6(v + 3) / 6),
    'hard_sigmoid, Keras 3',
  );
  close(
    runOne('Activation', { activation: 'hard_swish' }, x, [], 3),
    map(xs, (v) => (v * relu6(v + 3)) / 6),
    'hard_swish',
  );
  close(
    runOne('Activation', { activation: 'silu' }, x, [], 3),
    map(xs, (v) => v / (1 + Math.exp(-v))),
    'silu',
  );
  const serialized = { module: 'keras.activations', class_name: 'function', config: 'relu6', registered_name: 'function' };
  close(runOne('Activation', { activation: serialized }, x, [], 3), map(xs, relu6), 'Keras 3 serialized relu6');
  close(
    runOne('ReLU', { negative_slope: 0.1, threshold: 0 }, x),
    map(xs, (v) => (v > 0 ? v : 0.1 * v)),
    'ReLU negative_slope',
  );
  close(
    runOne('LeakyReLU', { negative_slope: 0.25 }, x, [], 3),
    map(xs, (v) => (v > 0 ? v : 0.25 * v)),
    'LeakyReLU, Keras 3 key',
  );
  close(
    runOne('Activation', { activation: 'leaky_relu' }, x, [], 3),
    map(xs, (v) => (v > 0 ? v : 0.2 * v)),
    'Keras 3 leaky_relu activation',
  );
});

it('Softmax layer over channels; GlobalAveragePooling2D and GlobalMaxPooling2D with keepdims', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const soft = map(xs, (v, i) => {
    const base = i - (i % 3);
    const sum = [0, 1, 2].reduce((s, c) => s + Math.exp(xs[base + c]!), 0);
    return Math.exp(v) / sum;
  });
  close(runOne('Softmax', { axis: -1 }, x), soft, 'Softmax');
  const [h, wd, c] = IN;
  const pooled = (reduce: (a: number[]) => number) =>
    Float32Array.from({ length: 2 * c }, (_, k) => {
      const [b, ch] = [Math.floor(k / c), k % c];
      return reduce(Array.from({ length: h * wd }, (_, p) => xs[b * h * wd * c + p * c + ch]!));
    });
  close(
    runOne('GlobalAveragePooling2D', { keepdims: true }, x),
    pooled((a) => a.reduce((s, v) => s + v, 0) / a.length),
    'GAP keepdims',
  );
  close(
    runOne('GlobalMaxPooling2D', { keepdims: true }, x),
    pooled((a) => Math.max(...a)),
    'GMP keepdims',
  );
  const graph = buildLeanGraph(spec([{ name: 'l', className: 'GlobalAveragePooling2D', config: { keepdims: true }, inbound: ['in'] }]));
  assert.deepEqual(graph.nodes[1]!.outputShape, [1, 1, 3], 'keepdims keeps the spatial axes');
  graph.dispose();
});

/** Keras (tf.image.resize) bilinear with half-pixel centres, one axis: sources and weights. */
function taps(out: number, size: number): [number, number, number][] {
  return Array.from({ length: out }, (_, o) => {
    const src = Math.max((o + 0.5) * (size / out) - 0.5, 0);
    const lo = Math.floor(src);
    return [lo, Math.min(lo + 1, size - 1), src - lo];
  });
}

it('Resizing (bilinear, half-pixel centres) and nearest; augmentation layers are the identity', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const [h, wd, c] = IN;
  const [oh, ow] = [7, 4];
  const at = (b: number, y: number, xx: number, ch: number) => xs[((b * h + y) * wd + xx) * c + ch]!;
  const expected = new Float32Array(2 * oh * ow * c);
  const ty = taps(oh, h);
  const tx = taps(ow, wd);
  for (let b = 0; b < 2; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let ch = 0; ch < c; ch++) {
          const [y0, y1, fy] = ty[y]!;
          const [x0, x1, fx] = tx[xx]!;
          const top = at(b, y0, x0, ch) * (1 - fx) + at(b, y0, x1, ch) * fx;
          const bottom = at(b, y1, x0, ch) * (1 - fx) + at(b, y1, x1, ch) * fx;
          expected[((b * oh + y) * ow + xx) * c + ch] = top * (1 - fy) + bottom * fy;
        }
  close(runOne('Resizing', { height: oh, width: ow, interpolation: 'bilinear', crop_to_aspect_ratio: false }, x), expected, 'Resizing bilinear');
  const nearest = runOne('Resizing', { height: 10, width: 12, interpolation: 'nearest' }, x);
  close(
    nearest,
    Float32Array.from({ length: 2 * 10 * 12 * c }, (_, i) => at(Math.floor(i / (120 * c)), Math.floor(((i / (12 * c)) % 10) / 2), Math.floor(((i / c) % 12) / 2), i % c)),
    'Resizing nearest ×2',
  );
  for (const aug of ['RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation', 'RandomHeight', 'RandomWidth', 'RandomContrast', 'RandomBrightness', 'Dropout', 'GaussianNoise']) {
    close(runOne(aug, { factor: 0.2, height_factor: 0.2, mode: 'horizontal', rate: 0.5, stddev: 1 }, x), xs, aug);
  }
});

it('Subtract and ZeroPadding2D on a two-branch graph', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const graph = buildLeanGraph(
    spec([
      { name: 'a', className: 'Rescaling', config: { scale: 2, offset: 1 }, inbound: ['in'] },
      { name: 'b', className: 'Rescaling', config: { scale: 0.5, offset: 0 }, inbound: ['in'] },
      { name: 'sub', className: 'Subtract', config: {}, inbound: ['a', 'b'] },
      {
        name: 'pad',
        className: 'ZeroPadding2D',
        config: {
          padding: [
            [1, 0],
            [0, 2],
          ],
        },
        inbound: ['sub'],
      },
    ]),
  );
  const [sub, pad] = tf.tidy(() => graph.run(x, ['sub', 'pad']).map((t) => t.dataSync() as Float32Array));
  close(
    sub!,
    map(xs, (v) => 1.5 * v + 1),
    'Subtract',
  );
  assert.deepEqual(graph.nodes.find((n) => n.name === 'pad')!.outputShape, [6, 8, 3]);
  assert.equal(pad!.length, 2 * 6 * 8 * 3);
  graph.dispose();
});

it('AveragePooling2D with "same" padding averages only the pixels inside the image (InceptionV3)', () => {
  const x = input();
  const xs = x.dataSync() as Float32Array;
  const [h, wd, c] = IN;
  const out = runOne('AveragePooling2D', { pool_size: [3, 3], strides: [1, 1], padding: 'same' }, x);
  const at = (y: number, xx: number, ch: number) => xs[(y * wd + xx) * c + ch]!;
  // Top-left corner: the 2×2 pixels inside; an inner pixel: all 9.
  assert.ok(Math.abs(out[0]! - (at(0, 0, 0) + at(0, 1, 0) + at(1, 0, 0) + at(1, 1, 0)) / 4) < 1e-5, 'corner');
  const inner = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => at(2 + dy, 2 + dx, 1))).reduce((s, v) => s + v, 0) / 9;
  assert.ok(Math.abs(out[(2 * wd + 2) * c + 1]! - inner) < 1e-5, 'inner');
  assert.equal(out.length, 2 * h * wd * c);
});
