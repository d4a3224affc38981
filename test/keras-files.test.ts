/**
 * The real Keras files in ../shared/models/keras load as they are (README there): format told by
 * content, Keras 2 and 3 dialects, nested models under path names, augmentation layers as the
 * identity, the pixel range chosen from the model; and the ImageNet MobileNet `.h5` gives the same
 * logits as the TF.js model of the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { strFromU8, unzipSync } from 'fflate';
import * as h5wasm from 'h5wasm';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, it } from 'node:test';
import { openHdf5 } from '../pipeline/model/formats/hdf5.ts';
import { loadModel, type LoadedModelFile } from '../pipeline/model/read.ts';
import { decodeRgb } from '../pipeline/output/images.ts';
import { resolvePixels } from '../pipeline/render/pixel-presets.ts';
import { modelsDir, relErr } from './support/engine.ts';
import { kerasZip, writeH5 } from './support/keras-writer.ts';

const KERAS = path.join(modelsDir(), 'keras');
const file = (rel: string) => path.join(KERAS, rel);
const skip = fs.existsSync(KERAS) ? false : `no ${KERAS} (set ATLAS_MODELS)`;
const DEFAULT_PIXELS = { range: [-1, 1] as [number, number], fromDefault: true as const };

async function withModel(rel: string, check: (m: LoadedModelFile) => void | Promise<void>): Promise<void> {
  const m = await loadModel(file(rel));
  try {
    await check(m);
  } finally {
    m.graph.dispose();
  }
}

before(async () => {
  await tf.setBackend('cpu');
});

it('each file: its format by content, input shape, class vector and logit node', { skip }, async () => {
  const cases: [string, 'h5' | 'keras', number[], number][] = [
    ['mobilenet_v1_0.25_224_imagenet/mobilenet_v1_0.25_224.h5', 'h5', [224, 224, 3], 1000],
    ['mobilenet_v1_0.25_96_vww/mobilenet_v1_0.25_96.h5', 'h5', [96, 96, 3], 2],
    ['mnist_cnn/model.keras', 'keras', [28, 28, 1], 10],
    ['potato_cnn/potatoes.keras', 'keras', [256, 256, 3], 3],
    ['potato_augment_rescaling/potato_pretrain_model.h5', 'h5', [224, 224, 3], 3],
    ['teachable_machine_mobilenetv2/keras_model.h5', 'h5', [224, 224, 3], 2],
  ];
  for (const [rel, format, shape, classes] of cases) {
    await withModel(rel, (m) => {
      assert.equal(m.format, format, rel);
      assert.deepEqual(m.graph.inputShape, shape, rel);
      const out = m.graph.nodes.find((n) => n.name === m.graph.outputName)!;
      assert.deepEqual(out.outputShape, [classes], rel);
      assert.ok(m.graph.logitNode, `${rel}: ends in a softmax, so its logit is a node`);
      const probs = tf.tidy(() => m.graph.run(tf.randomUniform([1, shape[0]!, shape[1]!, shape[2]!], -1, 1, 'float32', 3) as tf.Tensor4D, [m.graph.outputName])[0]!.dataSync() as Float32Array);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `${rel}: probabilities sum to 1`);
    });
  }
});

it('Keras 3 files read weights by slot (layers/conv2d_1/vars/0), not by layer name (conv2d_7)', { skip }, async () => {
  await withModel('mnist_cnn/model.keras', (m) => {
    assert.equal(m.spec!.dialect, 3);
    const conv = m.spec!.layers.find((l) => l.name === 'conv2d_7')!;
    assert.deepEqual(
      conv.weights.map((w) => w.shape),
      [[3, 3, 32, 64], [64]],
    );
    const pixels = resolvePixels(DEFAULT_PIXELS, m.graph);
    assert.equal(pixels.space.channels, 1, 'a grayscale model gets one channel');
  });
});

it('nested models: the Teachable Machine backbone by path names; augmentation layers are identity; Rescaling sets [0, 255]', { skip }, async () => {
  await withModel('teachable_machine_mobilenetv2/keras_model.h5', (m) => {
    const names = m.graph.nodes.map((n) => n.name);
    assert.ok(names.includes('sequential_1/model1/block_16_project'), 'inner layers are addressable as outer/inner');
    assert.ok(names.includes('sequential_3/dense_Dense2/logits'));
    assert.equal(m.graph.nodes.find((n) => n.name === 'sequential_1/model1/Conv1')!.outputShape.join(), '112,112,16');
    assert.match(resolvePixels(DEFAULT_PIXELS, m.graph).note, /\[-1, 1\], the default/);
  });
  await withModel('potato_augment_rescaling/potato_pretrain_model.h5', (m) => {
    const aug = m.graph.nodes.filter((n) => n.name.startsWith('data_augmentation/random_'));
    assert.equal(aug.length, 5);
    assert.ok(aug.every((n) => n.op.op === 'identity'));
    const pixels = resolvePixels(DEFAULT_PIXELS, m.graph);
    assert.deepEqual(pixels.space.range, [0, 255]);
    assert.match(pixels.note, /data_augmentation\/rescaling \(Rescaling\)/);
  });
});

it(
  'ImageNet MobileNet .h5: logits on the shared photos = the TF.js 0.25 model (same weights) within 1e-3',
  { skip: skip || (fs.existsSync(path.join(modelsDir(), 'mobilenet_v1_0.25_224')) ? false : 'no TF.js 0.25 model') },
  async () => {
    const photos = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg'].map((p) => path.join(modelsDir(), '..', 'photos', p)).filter((p) => fs.existsSync(p));
    assert.ok(photos.length >= 2, 'the shared photos');
    const h5 = await loadModel(file('mobilenet_v1_0.25_224_imagenet/mobilenet_v1_0.25_224.h5'));
    const tfjs = await loadModel(path.join(modelsDir(), 'mobilenet_v1_0.25_224'));
    try {
      assert.equal(h5.graph.logitNode, 'reshape_2');
      for (const p of photos) {
        const { rgb } = await decodeRgb(p, [224, 224]);
        const [a, b] = tf.tidy(() => {
          const x = tf.tensor4d(
            Float32Array.from(rgb, (v) => v / 127.5 - 1),
            [1, 224, 224, 3],
          );
          return [h5.graph.run(x, [h5.graph.logitNode!])[0]!.dataSync() as Float32Array, tfjs.graph.run(x, [tfjs.graph.logitNode!])[0]!.dataSync() as Float32Array];
        });
        const maxDiff = a!.reduce((m, v, i) => Math.max(m, Math.abs(v - b![i]!)), 0);
        assert.ok(maxDiff < 1e-3, `${path.basename(p)}: max |Δ logit| ${maxDiff}`);
        assert.ok(relErr(a!, b!) < 1e-4);
      }
    } finally {
      h5.graph.dispose();
      tfjs.graph.dispose();
    }
  },
);

it('a Windows-saved .keras (tf.keras 2.15: weight groups at the root of model.weights.h5, path joined by backslashes) loads as the original', { skip }, async () => {
  const entries = unzipSync(fs.readFileSync(file('mnist_cnn/model.keras')));
  const h5 = await openHdf5(entries['model.weights.h5']!, 'model.weights.h5');
  const moved: { group: string; vars: { name: string; data: Float32Array; shape: number[] }[] }[] = [];
  try {
    const walk = (g: h5wasm.Group, at: string): void => {
      for (const key of g.keys()) {
        const child = g.get(key);
        if (!(child instanceof h5wasm.Group)) continue;
        if (key !== 'vars') walk(child, `${at}/${key}`);
        else if (at.startsWith('/layers/') && child.keys().length > 0) {
          const vars = child.keys().map((k) => {
            const ds = child.get(k) as h5wasm.Dataset;
            return { name: k, data: Float32Array.from(ds.value as Float32Array), shape: ds.shape as number[] };
          });
          moved.push({ group: at.slice(1).replace(/\//g, '\\'), vars });
        }
      }
    };
    walk(h5.file, '');
  } finally {
    h5.close();
  }
  assert.ok(moved.length >= 5 && moved.every((m) => m.group.startsWith('layers\\')), `backslash groups: ${moved.map((m) => m.group).join(', ')}`);
  const windowsH5 = await writeH5((f) => {
    for (const m of moved) {
      const vars = f.create_group(m.group).create_group('vars');
      for (const v of m.vars) vars.create_dataset({ name: v.name, data: v.data, shape: v.shape, dtype: '<f' });
    }
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-keras-windows-'));
  const windows = path.join(dir, 'model.keras');
  fs.writeFileSync(windows, kerasZip(JSON.parse(strFromU8(entries['config.json']!)), windowsH5));
  const a = await loadModel(file('mnist_cnn/model.keras'));
  const b = await loadModel(windows);
  try {
    const [ya, yb] = tf.tidy(() => {
      const x = tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
      return [a.graph.run(x, [a.graph.outputName])[0]!.dataSync() as Float32Array, b.graph.run(x, [b.graph.outputName])[0]!.dataSync() as Float32Array];
    });
    assert.deepEqual(Array.from(yb!), Array.from(ya!));
  } finally {
    a.graph.dispose();
    b.graph.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
