/**
 * TF.js layers models: `model.json` (whose `modelTopology` is a Keras model config) and the weight
 * shards its `weightsManifest` names, read from the local file system following the manifest's
 * paths exactly. No tfjs-node needed.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AtlasError } from '../../errors.ts';
import { specFromConfig } from '../keras-config.ts';
import type { ModelSpec } from '../spec.ts';
import { namedWeightReader, type LazyWeight } from './named-weights.ts';

interface WeightGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
}

/** Model errors point at the config's model.source line. */
const SOURCE = ['model', 'source'];
const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

export interface TfjsArtifacts {
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  /** sha256 of model.json and every weight file, in manifest order: what determines the weights. */
  weightsHash: string;
}

function fail(modelJson: string, message: string, file = modelJson): never {
  throw new AtlasError(`${modelJson}: ${message}`, { file, path: SOURCE });
}

async function parseModelJson(modelJson: string, text?: string): Promise<{ json: { modelTopology?: unknown; weightsManifest?: WeightGroup[]; format?: string }; text: string }> {
  if (text === undefined) {
    try {
      text = await fs.readFile(modelJson, 'utf8');
    } catch (err) {
      fail(modelJson, `cannot read model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a TF.js model.json`);
    }
  }
  let json: { modelTopology?: unknown; weightsManifest?: WeightGroup[]; format?: string };
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(modelJson, `invalid model.json: ${(err as Error).message}; expected the JSON of a TF.js layers model`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    fail(modelJson, 'invalid model.json: expected a TF.js layers model with "modelTopology" and "weightsManifest"');
  }
  if (json.format && json.format !== 'layers-model') {
    fail(modelJson, `format "${json.format}" is not a TF.js layers model (convert it with tensorflowjs_converter --output_format tfjs_layers_model)`);
  }
  return { json, text };
}

/** model.json and its weight shards, checked for presence and size. */
export async function readTfjsArtifacts(modelJson: string, text?: string): Promise<TfjsArtifacts> {
  const parsed = await parseModelJson(modelJson, text);
  const { json } = parsed;
  const dir = path.dirname(modelJson);
  const hash = createHash('sha256').update(parsed.text);
  const buffers: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest!) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) fail(modelJson, 'invalid model.json: every weightsManifest entry needs "paths" and "weights"');
    const expected = group.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4), 0);
    const parts: Buffer[] = [];
    for (const p of group.paths) {
      const file = path.resolve(dir, p);
      parts.push(await fs.readFile(file).catch(() => fail(modelJson, `weight file "${p}" is missing (expected at ${file})`, file)));
    }
    const data = Buffer.concat(parts);
    if (data.length < expected) fail(modelJson, `weight file(s) ${group.paths.join(', ')} hold ${data.length} bytes, expected ${expected} (truncated?)`, path.resolve(dir, group.paths[0] ?? ''));
    hash.update(data);
    buffers.push(data);
    weightSpecs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { modelTopology: json.modelTopology, weightSpecs, weightData, weightsHash: hash.digest('hex') };
}

/** Weights by name from decoded tensors (TF.js names carry no outer-layer groups). */
export function tensorWeights(named: Record<string, tf.Tensor>): Map<string, LazyWeight> {
  return new Map(Object.entries(named).map(([n, t]) => [n, { shape: [...t.shape], read: () => Float32Array.from(t.dataSync()) }]));
}

/** A TF.js layers model.json (with its shards) → ModelSpec. */
export async function readTfjsSpec(modelJson: string, text?: string): Promise<{ spec: ModelSpec; weightsHash: string }> {
  const art = await readTfjsArtifacts(modelJson, text);
  const named = tf.io.decodeWeights(art.weightData, art.weightSpecs);
  try {
    const all = tensorWeights(named);
    const spec = specFromConfig(
      art.modelTopology,
      namedWeightReader(modelJson, () => all),
      modelJson,
    );
    return { spec, weightsHash: art.weightsHash };
  } finally {
    tf.dispose(Object.values(named));
  }
}
