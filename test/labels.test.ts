/**
 * Labels files in the forms models ship with: this project's JSON array, Teachable Machine's
 * metadata.json (TF.js export) and labels.txt (Keras export, "0 name" lines); found beside the model.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { labelsBeside, loadLabels, parseLabels } from '../pipeline/model/labels.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { saveLayersModel } from './support/robust-models.ts';

describe('labels files', () => {
  it('reads a JSON array, a metadata object with "labels", and text lines with or without their index', () => {
    assert.deepEqual(parseLabels('["cat", "dog"]', 'labels.json'), ['cat', 'dog']);
    assert.deepEqual(parseLabels(JSON.stringify({ tfjsVersion: '1.3.1', labels: ['Class 1', 'Class 2'], imageSize: 224 }), 'metadata.json'), ['Class 1', 'Class 2']);
    assert.deepEqual(parseLabels('0 Goldfish\r\n1 Great white shark\n\n', 'labels.txt'), ['Goldfish', 'Great white shark']);
    // Names that merely start with a number keep it; so do lines whose numbers are not 0, 1, 2, …
    assert.deepEqual(parseLabels('3D printer\n7 up\n', 'labels.txt'), ['3D printer', '7 up']);
    assert.deepEqual(parseLabels('1 a\n2 b\n', 'labels.txt'), ['1 a', '2 b']);
    assert.throws(() => parseLabels('{"names": ["a"]}', 'labels.json'), /JSON array of class names/);
    assert.throws(() => parseLabels('["a", 2]', 'labels.json'), /JSON array of class names/);
  });

  it('checks the count against the model and names the file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'labels.txt');
    await fs.writeFile(file, 'a\nb\nc\n');
    assert.deepEqual(await loadLabels(file, 3), ['a', 'b', 'c']);
    await assert.rejects(loadLabels(file, 4), (err: Error) => err.message.includes(file) && /has 3 names but the model has 4 classes/.test(err.message));
  });

  it('finds labels.json first, then a metadata.json that has labels, then labels.txt', async () => {
    const dir = await tempDir();
    const model = path.join(dir, 'model.json');
    assert.equal(await labelsBeside(model), undefined);
    await fs.writeFile(path.join(dir, 'labels.txt'), 'a\n');
    await fs.writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ modelName: 'no labels here' }));
    assert.equal(await labelsBeside(model), path.join(dir, 'labels.txt'));
    await fs.writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ labels: ['a'] }));
    assert.equal(await labelsBeside(model), path.join(dir, 'metadata.json'));
    await fs.writeFile(path.join(dir, 'labels.json'), '["a"]');
    assert.equal(await labelsBeside(model), path.join(dir, 'labels.json'));
  });

  it('a Teachable Machine export (model.json + metadata.json) renders its classes by name with no labels key', async () => {
    const dir = await tempDir();
    const input = tf.input({ shape: [32, 32, 3], name: 'pixels' });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
    await saveLayersModel(tf.model({ inputs: input, outputs: out }), path.join(dir, 'tm'));
    await fs.writeFile(path.join(dir, 'tm', 'metadata.json'), JSON.stringify({ tfjsVersion: '1.3.1', packageName: '@teachablemachine/image', labels: ['mug', 'plant', 'nothing'], imageSize: 32 }));
    const config = await writeConfig(
      dir,
      `model:
  id: teachable
  source: ./tm/model.json
  pixels: { range: [-1, 1] }
classes: [plant]
render:
  classes: { steps: 2 }
output: out
`,
    );
    const run = await runCli(['pipeline', '--config', config, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const m = JSON.parse(await fs.readFile(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(m.model.labels, ['mug', 'plant', 'nothing']);
    assert.deepEqual(m.classes, [{ id: 1, label: 'plant' }]);
  });
});
