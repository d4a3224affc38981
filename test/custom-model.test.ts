/**
 * Another model works by config alone: a small CNN this test builds and saves in TF.js layers
 * format, expecting pixels in [0, 255] with a per-channel mean, with its own labels file.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { saveLayersModel } from './support/robust-models.ts';

test('a [0, 255] model with its own labels renders by config alone', async () => {
  const dir = await tempDir();
  const input = tf.input({ shape: [48, 48, 3], name: 'pixels' });
  let x = tf.layers.rescaling({ scale: 1 / 64, name: 'scale' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block1.conv', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, name: 'dw', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'dw_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'probs', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  await saveLayersModel(model, path.join(dir, 'tiny'));
  // Labels in an order of their own.
  await fs.writeFile(path.join(dir, 'tiny-labels.json'), JSON.stringify(['zebra', 'apple', 'kite', 'mug', 'owl <b>']));

  const config = await writeConfig(
    dir,
    `model:
  id: tiny-cnn
  source: ./tiny/model.json
  labels: tiny-labels.json
  pixels:
    range: [0, 255]
    mean: [120, 115, 100]
layers:
  block1.conv: all
  dw_relu: 0-5
classes: [apple, 3, "owl <b>"]
render:
  filters: { steps: 12 }
  classes: { steps: 20, stepSize: 20 }
output: out
`,
  );
  const run = await runCli(['pipeline', '--config', config, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  const m = JSON.parse(await fs.readFile(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(m.model.pixels, { range: [0, 255], mean: [120, 115, 100] });
  assert.deepEqual(m.model.inputShape, [48, 48, 3]);
  assert.equal(m.model.scoreLayer, 'probs/logits', 'the dense softmax is split to expose its logit');
  assert.deepEqual(m.classes, [
    { id: 1, label: 'apple' },
    { id: 3, label: 'mug' },
    { id: 4, label: 'owl <b>' },
  ]);
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.filterCount, l.filters.length]),
    [
      ['block1.conv', 8, 8],
      ['dw_relu', 16, 6],
    ],
  );
  // A layer name with a dot gets a safe slug for its files.
  const conv = m.units.find((u) => u.layer === 'block1.conv')!;
  assert.match(conv.files!.png, /^tiny-cnn\/lecture\/layers\/block1-conv-[a-z0-9]+\/\d+\.png$/);
  for (const u of m.units) {
    assert.equal(u.status, 'ok', `${u.key}: ${u.error}`);
    await fs.access(path.join(dir, 'out', u.files!.gif));
    if (u.kind === 'class') {
      assert.ok(u.finalObjective > u.startObjective, `${u.key}: ${u.startObjective} → ${u.finalObjective}`);
      assert.equal((u.quality as { top1: number }).top1, u.index, `${u.label} image is top-1 for its class`);
    } else if (!u.flags.includes('dead')) {
      assert.ok(u.finalObjective > u.startObjective, `${u.key}: ${u.startObjective} → ${u.finalObjective}`);
    }
  }
});
