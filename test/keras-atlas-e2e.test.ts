/**
 * Each real Keras file in ../shared/models/keras builds an atlas by config alone: a few filters of
 * two layers and two classes, tiny sizes and steps, through the CLI. The nested Teachable Machine
 * model (layer names with "/") also builds its site, whose links must all resolve; the ImageNet
 * MobileNet's class images are classified as their class.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import sharp from 'sharp';
import { loadLayersModelFromFile } from '../pipeline/model/load.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { modelsDir } from './support/engine.ts';
import { runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { assertLinksResolve } from './support/site-links.ts';

const KERAS = path.join(modelsDir(), 'keras');
const skip = existsSync(KERAS) ? false : `no ${KERAS} (set ATLAS_MODELS)`;

interface Case {
  id: string;
  file: string;
  layers: [string, string];
  /** Render size: the input size where a Flatten fixes it, smaller where pooling allows. */
  size: number;
  pixels: [number, number];
}

const CASES: Case[] = [
  { id: 'mobilenet-imagenet', file: 'mobilenet_v1_0.25_224_imagenet/mobilenet_v1_0.25_224.h5', layers: ['conv_pw_1_relu', 'conv_pw_13_relu'], size: 64, pixels: [-1, 1] },
  { id: 'mobilenet-vww', file: 'mobilenet_v1_0.25_96_vww/mobilenet_v1_0.25_96.h5', layers: ['activation', 'activation_26'], size: 96, pixels: [-1, 1] },
  { id: 'mnist', file: 'mnist_cnn/model.keras', layers: ['conv2d_6', 'conv2d_8'], size: 28, pixels: [-1, 1] },
  { id: 'potato', file: 'potato_cnn/potatoes.keras', layers: ['conv2d_6', 'conv2d_11'], size: 256, pixels: [-1, 1] },
  { id: 'potato-augment', file: 'potato_augment_rescaling/potato_pretrain_model.h5', layers: ['conv2d', 'conv2d_2'], size: 64, pixels: [0, 255] },
  { id: 'teachable', file: 'teachable_machine_mobilenetv2/keras_model.h5', layers: ['sequential_1/model1/Conv1_relu', 'sequential_1/model1/block_16_project'], size: 64, pixels: [-1, 1] },
];

function yaml(c: Case): string {
  return `model:
  id: ${c.id}
  source: ${JSON.stringify(path.join(KERAS, c.file))}
layers:
  ${JSON.stringify(c.layers[0])}: 0-1
  ${JSON.stringify(c.layers[1])}: [0, 3]
classes: [0, 1]
render:
  size: ${c.size}
  filters: { steps: 2 }
  classes: { steps: 2 }
output: data
site:
  url: https://example.org
  base: /k/
`;
}

for (const c of CASES) {
  it(`${c.file}: two layers' filters and two classes by config alone`, { skip }, async () => {
    const dir = await tempDir('atlas-keras-e2e-');
    const config = await writeConfig(dir, yaml(c));
    const command = c.id === 'teachable' ? 'build' : 'pipeline';
    const dist = path.join(dir, 'dist');
    const run = await runCli([command, '--config', config, ...(command === 'build' ? ['--dist', dist] : []), '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const m = JSON.parse(await fs.readFile(path.join(dir, 'data', 'manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(
      m.layers.map((l) => [l.name, l.filters]),
      [
        [c.layers[0], [0, 1]],
        [c.layers[1], [0, 3]],
      ],
    );
    assert.equal(m.classes.length, 2);
    assert.equal(m.units.length, 6);
    assert.deepEqual(m.model.pixels.range, c.pixels);
    for (const u of m.units) await fs.access(path.join(dir, 'data', u.files!.png));
    if (c.id === 'mnist') {
      // A one-channel model: its images are grey (what it sees), and the notes' crop and border scale to 28 px.
      for (const u of m.units) {
        const { data, info } = await sharp(path.join(dir, 'data', u.files!.png))
          .raw()
          .toBuffer({ resolveWithObject: true });
        for (let i = 0; i < data.length; i += info.channels) assert.ok(data[i] === data[i + 1] && data[i] === data[i + 2], `${u.key} is not grey`);
      }
      const filter = m.units.find((u) => u.kind === 'filter')!;
      assert.deepEqual([filter.settings.border, filter.settings.crop, filter.width], [0, 3, 28]);
    }
    if (command === 'build') assert.ok((await assertLinksResolve(dist, '/k/')) >= m.units.length, 'the pages show the images');
  });
}

it(
  'the ImageNet MobileNet .h5: class images are top-1 for their class, read back from the PNGs',
  { skip: skip || (existsSync(path.join(modelsDir(), 'mobilenet_v1_0.25_224')) ? false : 'no TF.js 0.25 model') },
  async () => {
    const dir = await tempDir('atlas-keras-classes-');
    const file = path.join(KERAS, 'mobilenet_v1_0.25_224_imagenet', 'mobilenet_v1_0.25_224.h5');
    const config = await writeConfig(dir, `model:\n  id: mobilenet-h5\n  source: ${JSON.stringify(file)}\nclasses: [141, goldfish, espresso]\noutput: data\n`);
    const run = await runCli(['pipeline', '--config', config, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const m = JSON.parse(await fs.readFile(path.join(dir, 'data', 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(m.model.scoreLayer, 'reshape_2', 'the logit before the final softmax');
    // Classified by the TF.js model of the same weights through tf.layers: another file, another executor.
    await tf.setBackend('cpu');
    const { model } = await loadLayersModelFromFile(path.join(modelsDir(), 'mobilenet_v1_0.25_224', 'model.json'));
    for (const u of m.units) {
      const { data, info } = await sharp(path.join(dir, 'data', u.files!.png))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const top = tf.tidy(() => {
        const x = tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32').toFloat().div(127.5).sub(1);
        return (model.predict(tf.image.resizeBilinear(x as tf.Tensor3D, [224, 224]).expandDims(0)) as tf.Tensor).argMax(-1).dataSync()[0];
      });
      assert.equal(top, u.index, `class ${u.index} (${u.label}): its image is classified as ${top}`);
    }
    model.dispose();
  },
);
