/**
 * Tiny TF.js layers models built and saved by the tests themselves (model.json + weights.bin +
 * labels.json), for behaviour the real MobileNets cannot provoke: hostile layer names and labels,
 * a dead filter, and a layer whose activations overflow to Infinity (non-finite objective).
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Layer and class names a lecturer should never see break a path or a page.
 * TF.js accepts only `[A-Za-z0-9][-A-Za-z0-9._/]*` as a layer name (when building and when loading
 * model.json), so the most hostile layer name a model can carry is path-like. Labels are free text.
 */
export const HOSTILE_LAYER = 'x/../../escape';
export const HOSTILE_LABELS = ['../../etc/passwd', '<script>alert("x")</script>', `quote " ' / \\ ünïcødé 🐟 漢字`];

export interface TinyModel {
  dir: string;
  /** The ReLU layer with the hostile name: filter 0 and 2 live, filter 1 dead (zero weights, negative bias). */
  hostileLayer: string;
  /** The conv before it, with a path-like name TF.js accepts. */
  hostileConv: string;
  /** A conv layer whose weights overflow float32: its objective is Infinity from the start. */
  overflowLayer: string;
  labels: string[];
}

/** Saves a layers model the way tensorflowjs_converter lays it out. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, labels?: string[], editTopology?: (topology: any) => void): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      editTopology?.(artifacts.modelTopology);
      await fs.writeFile(path.join(dir, 'weights.bin'), Buffer.from(data));
      const json = {
        format: 'layers-model',
        generatedBy: 'filter-atlas tests',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (labels) await fs.writeFile(path.join(dir, 'labels.json'), JSON.stringify(labels));
}

/** input 32×32×3 → hostile conv (3 filters) → [overflow conv (2 filters), GAP → dense(3) softmax]. */
export async function buildTinyModel(dir: string, options: { labels?: string[] } = {}): Promise<TinyModel> {
  const input = tf.input({ shape: [32, 32, 3], name: 'input' });
  const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: HOSTILE_LAYER });
  const hostile = tf.layers.activation({ activation: 'relu', name: `${HOSTILE_LAYER}.relu` });
  const overflow = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'overflow' });
  const gap = tf.layers.globalAveragePooling2d({ name: 'pool' });
  const dense = tf.layers.dense({ units: 3, name: 'logits' });
  const softmax = tf.layers.activation({ activation: 'softmax', name: 'predictions' });
  const a = hostile.apply(conv.apply(input)) as tf.SymbolicTensor;
  const o = overflow.apply(a) as tf.SymbolicTensor;
  const d = softmax.apply(dense.apply(gap.apply(a))) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [o, d], name: 'tiny' });

  // Deterministic weights: a smooth pattern, not random, so every test run sees the same model.
  const pattern = (shape: number[], scale: number) => {
    const n = shape.reduce((x, y) => x * y, 1);
    return tf.tensor(
      Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) * scale),
      shape,
    );
  };
  const k = pattern([3, 3, 3, 3], 0.5).arraySync() as number[][][][];
  for (const row of k) for (const col of row) for (const ch of col) ch[1] = 0; // filter 1: no weights
  conv.setWeights([tf.tensor(k), tf.tensor1d([0.05, -1, 0.05])]); // …and a negative bias: dead
  overflow.setWeights([tf.fill([3, 3, 3, 2], 1e38), tf.zeros([2])]);
  dense.setWeights([pattern([3, 3], 1), tf.zeros([3])]);
  const labels = options.labels ?? HOSTILE_LABELS;
  // The pipeline reads the class scores from the last layer: list the overflow branch before the
  // classifier in model.json (any topological order is valid).
  await saveLayersModel(model, dir, labels, (topology) => {
    const layers = topology.config.layers as { name: string }[];
    const i = layers.findIndex((l) => l.name === 'overflow');
    const [entry] = layers.splice(i, 1);
    layers.splice(
      layers.findIndex((l) => l.name === 'pool'),
      0,
      entry!,
    );
  });
  model.dispose();
  return { dir, hostileLayer: `${HOSTILE_LAYER}.relu`, hostileConv: HOSTILE_LAYER, overflowLayer: 'overflow', labels };
}
