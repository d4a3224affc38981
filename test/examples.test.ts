/**
 * The lecture notes' jobs as configs in examples/: they validate as written, and build against
 * random-weight models of the same architectures (bench/architectures.ts saved as Keras 2 `.h5`),
 * with the model, sizes, filters and steps cut down and everything else as in the example.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { resnet50v2, vgg16 } from '../bench/architectures.ts';
import { loadConfig } from '../pipeline/config/load.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { modelsDir } from './support/engine.ts';
import { ROOT, runCli, tempDir } from './support/fixtures.ts';
import { keras2FromLayersModel } from './support/keras-writer.ts';

const EXAMPLES = path.join(ROOT, 'examples');
const PHOTO = path.join(modelsDir(), '..', 'photos', 'chelsea.png');

before(async () => {
  await tf.setBackend('cpu');
});

it("the lecture examples validate with the notes' settings", async () => {
  const resnet = (await loadConfig(path.join(EXAMPLES, 'lecture-resnet50v2.yaml'))).config;
  assert.deepEqual(resnet.layers, { conv3_block4_out: 'all' });
  assert.deepEqual([resnet.render.lecture.filters.steps, resnet.render.lecture.filters.stepSize], [300, 10]);
  const photo = (await loadConfig(path.join(EXAMPLES, 'lecture-resnet50v2-photo.yaml'))).config;
  assert.equal(photo.render.lecture.photo, 'photo.jpg');
  const vgg = (await loadConfig(path.join(EXAMPLES, 'lecture-vgg16-redshank.yaml'))).config;
  assert.deepEqual(vgg.classes, [141]);
  assert.deepEqual([vgg.render.lecture.classes.stepSize, vgg.render.lecture.classes.l2, vgg.render.lecture.frameEvery], [100, 1e-6, 1]);
  assert.equal('preset' in vgg.model.pixels ? vgg.model.pixels.preset : undefined, 'caffe');
});

/** A parsed example config, edited as plain YAML data (nested objects, arrays, scalars). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML data edited by key path in tests
type Config = Record<string, any>;

/** Runs an example with its model replaced by `model` and `edit` applied; returns the manifest. */
async function runExample(name: string, model: tf.LayersModel, edit: (c: Config) => void): Promise<Manifest> {
  const dir = await tempDir('atlas-example-');
  await fs.writeFile(path.join(dir, 'model.h5'), await keras2FromLayersModel(model));
  const config = parse(await fs.readFile(path.join(EXAMPLES, name), 'utf8')) as Config;
  config.model.source = './model.h5';
  config.model.labels = path.join(ROOT, 'labels', 'imagenet.json');
  config.output = 'data';
  edit(config);
  const file = path.join(dir, name);
  await fs.writeFile(file, stringify(config));
  const run = await runCli(['pipeline', '--config', file, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(await fs.readFile(path.join(dir, 'data', 'manifest.json'), 'utf8')) as Manifest;
}

it('lecture-resnet50v2 (and its photo variant) build on a random-weight ResNet50V2 up to conv3_block4_out', async () => {
  const model = resnet50v2({ size: 224, until: 'conv3' });
  const small = (c: Config) => {
    // The trunk ends at conv3_block4_out: no classifier, so no labels.
    delete c.model.labels;
    c.layers = { conv3_block4_out: '0-1' };
    c.render.lecture.filters.steps = 2;
    c.render.size = 64;
  };
  const m = await runExample('lecture-resnet50v2.yaml', model, small);
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.filterCount, l.filters]),
    [['conv3_block4_out', 512, [0, 1]]],
  );
  assert.ok(existsSync(PHOTO), `the photo variant needs ${PHOTO} (the shared photos)`);
  const p = await runExample('lecture-resnet50v2-photo.yaml', model, (c) => {
    small(c);
    c.render.lecture.photo = PHOTO;
  });
  assert.equal(p.units.length, 2);
  model.dispose();
});

it('lecture-vgg16-redshank builds class 141 on a random-weight VGG16 (narrow classifier)', async () => {
  const model = vgg16({ size: 32, includeTop: true, denseUnits: 32 });
  const m = await runExample('lecture-vgg16-redshank.yaml', model, (c) => {
    c.render.lecture.classes.steps = 2;
  });
  assert.deepEqual(m.classes, [{ id: 141, label: 'redshank, Tringa totanus' }]);
  assert.equal(m.model.scoreLayer, 'predictions/logits');
  assert.deepEqual(m.model.pixels, { range: [0, 255], mean: [103.939, 116.779, 123.68], channelOrder: 'bgr' });
  model.dispose();
});
