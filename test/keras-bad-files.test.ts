/**
 * A model file is untrusted input: code layers, custom objects and unsupported layers are refused
 * before any work, a weights-only `.h5` says how to save a whole model, and truncated or corrupt
 * files name the file and what is wrong. The CLI exits 2 (bad input) for each; files are built
 * here in a temp folder (h5wasm, fflate) from the real fixtures where a real file is needed.
 */
import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, it } from 'node:test';
import { AtlasError } from '../pipeline/errors.ts';
import { loadModel } from '../pipeline/model/read.ts';
import { modelsDir } from './support/engine.ts';
import { runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { keras2FromLayersModel, keras2H5, kerasZip } from './support/keras-writer.ts';

const MNIST = path.join(modelsDir(), 'keras', 'mnist_cnn', 'model.keras');
const MOBILENET = path.join(modelsDir(), 'keras', 'mobilenet_v1_0.25_224_imagenet', 'mobilenet_v1_0.25_224.h5');
const skip = existsSync(MNIST) && existsSync(MOBILENET) ? false : 'no ../shared/models/keras (set ATLAS_MODELS)';
let dir: string;

before(async () => {
  dir = await tempDir('atlas-keras-bad-');
  await tf.setBackend('cpu');
});

/** Runs the pipeline on a model file; returns the exit code and stderr. */
async function cliOn(name: string, bytes: Uint8Array): Promise<{ code: number | null; stderr: string }> {
  const file = path.join(dir, name);
  await fs.writeFile(file, bytes);
  const config = await writeConfig(dir, `model:\n  id: bad\n  source: ./${name}\nlayers: {}\noutput: out-${name}\n`, `${name}.yaml`);
  return runCli(['pipeline', '--config', config, '--quiet']);
}

async function loadError(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, bytes);
  const err = await loadModel(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof AtlasError, `${name}: expected an AtlasError, got ${String(err)}`);
  assert.ok(err.message.startsWith(file), `${name}: the message names the file: ${err.message}`);
  return err.message;
}

/** The real MNIST .keras with its config edited: the same weights, another layer list. */
async function mnistWith(edit: (layers: Record<string, unknown>[]) => void): Promise<Uint8Array> {
  const entries = unzipSync(await fs.readFile(MNIST));
  const config = JSON.parse(strFromU8(entries['config.json']!));
  edit(config.config.layers);
  return kerasZip(config, entries['model.weights.h5']!);
}

it('a Lambda layer exits 2 naming it: the atlas never runs code from a model file', { skip }, async () => {
  const bytes = await mnistWith((layers) =>
    layers.splice(6, 0, {
      module: 'keras.layers',
      class_name: 'Lambda',
      config: { name: 'my_lambda', function: { class_name: '__lambda__', config: { code: '4wEAAAAAAAAA', defaults: null, closure: null } } },
      registered_name: null,
    }),
  );
  const run = await cliOn('lambda.keras', bytes);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /layer "my_lambda" \(Lambda\) holds Python code, which the atlas never runs/);
});

it('an unsupported layer exits 2 before any work, naming the layer and its class', { skip }, async () => {
  const inp = tf.input({ shape: [16, 16, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, name: 'deconv' }).apply(x) as tf.SymbolicTensor;
  const run = await cliOn('unsupported.h5', await keras2FromLayersModel(tf.model({ inputs: inp, outputs: x })));
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /layer "deconv" \(Conv2DTranspose\) is not a supported layer type/);
  assert.ok(!existsSync(path.join(dir, 'out-unsupported.h5')), 'nothing was written');
});

it('a weights-only .h5 exits 2 with the one line that saves a whole model', { skip }, async () => {
  const weights = new Map([['conv1', [{ name: 'conv1/kernel:0', data: new Float32Array(27 * 8), shape: [3, 3, 3, 8] }]]]);
  const run = await cliOn('weights-only.h5', await keras2H5(null, weights));
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /holds only weights .*architecture is unknown/);
  assert.match(run.stderr, /model\.save\("model\.keras"\)/);
});

it('custom objects are refused by name; truncated and corrupt files name the file and the problem', { skip }, async () => {
  const custom = await mnistWith((layers) => {
    layers[2] = { module: 'my_package.layers', class_name: 'FancyConv', config: { name: 'fancy' }, registered_name: 'my_package>FancyConv' };
  });
  assert.match(await loadError('custom.keras', custom), /layer "fancy" \(FancyConv\) is a custom object \(my_package>FancyConv\)/);
  const h5 = await fs.readFile(MOBILENET);
  assert.match(await loadError('truncated.h5', h5.subarray(0, h5.length >> 1)), /cannot read it as HDF5 \(truncated file: .*\); the file is corrupt or truncated/);
  const keras = await fs.readFile(MNIST);
  assert.match(await loadError('truncated.keras', keras.subarray(0, keras.length >> 1)), /cannot read it as a ZIP .*corrupt or truncated/);
  assert.match(await loadError('photo.keras', await fs.readFile(path.join(modelsDir(), '..', 'photos', 'chelsea.png'))), /not a model file/);
  const noWeights = await mnistWith(() => {});
  const entries = unzipSync(noWeights);
  delete entries['model.weights.h5'];
  const { zipSync } = await import('fflate');
  assert.match(await loadError('no-weights.keras', zipSync(entries)), /no model\.weights\.h5/);
});

it('weights whose shapes contradict the config are refused before they are read', { skip }, async () => {
  const inp = tf.input({ shape: [8, 8, 3] });
  const x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(inp) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: x });
  const config = model.toJSON(null, false) as { config: { layers: { config: Record<string, unknown> }[] } };
  config.config.layers[1]!.config.filters = 400;
  const weights = new Map([['conv', model.layers[1]!.weights.map((w) => ({ name: `${w.originalName}:0`, data: Float32Array.from(w.read().dataSync()), shape: w.shape as number[] }))]]);
  assert.match(await loadError('mismatch.h5', await keras2H5(config, weights)), /weight kernel of layer "conv" \(Conv2D\) has shape \[3, 3, 3, 4\]; its config implies \[3, 3, \?, 400\]/);
});

it('class units on a model without a classifier exit 2 naming its output layer and shape', { skip }, async () => {
  const inp = tf.input({ shape: [32, 32, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'fire' }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'trunk_pool' }).apply(x) as tf.SymbolicTensor;
  const file = path.join(dir, 'trunk.h5');
  await fs.writeFile(file, await keras2FromLayersModel(tf.model({ inputs: inp, outputs: x })));
  const config = await writeConfig(dir, `model:\n  id: trunk\n  source: ./trunk.h5\nlayers: { fire: 0-1 }\nclasses: [0, 1]\noutput: out-trunk\n`, 'trunk.yaml');
  const run = await runCli(['pipeline', '--config', config, '--quiet']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /classes: the model has no classifier: its output layer "trunk_pool" has shape \[15, 15, 8\]/);
});
