/**
 * Loads a TF.js layers model (model.json + weight shards) from the local file system, following
 * `weightsManifest` paths exactly, and its labels file. No tfjs-node needed.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AtlasError } from '../errors.ts';

interface WeightGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
}

/** Model errors point at the config's model.source line. */
const SOURCE = ['model', 'source'];

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

export interface LoadedModel {
  model: tf.LayersModel;
  /** sha256 of model.json and every weight file, in manifest order: what determines the weights. */
  weightsHash: string;
}

export async function loadLayersModelFromFile(modelJson: string): Promise<LoadedModel> {
  let text: string;
  try {
    text = await fs.readFile(modelJson, 'utf8');
  } catch (err) {
    throw new AtlasError(`${modelJson}: cannot read model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a TF.js model.json`, { file: modelJson, path: SOURCE });
  }
  let json: { modelTopology?: unknown; weightsManifest?: WeightGroup[]; format?: string };
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AtlasError(`${modelJson}: invalid model.json: ${(err as Error).message}; expected the JSON of a TF.js layers model`, { file: modelJson, path: SOURCE });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new AtlasError(`${modelJson}: invalid model.json: expected a TF.js layers model with "modelTopology" and "weightsManifest"`, { file: modelJson, path: SOURCE });
  }
  if (json.format && json.format !== 'layers-model') {
    throw new AtlasError(`${modelJson}: format "${json.format}" is not a TF.js layers model (convert it with tensorflowjs_converter --output_format tfjs_layers_model)`, {
      file: modelJson,
      path: SOURCE,
    });
  }
  const dir = path.dirname(modelJson);
  const hash = createHash('sha256').update(text);
  const buffers: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new AtlasError(`${modelJson}: invalid model.json: every weightsManifest entry needs "paths" and "weights"`, { file: modelJson, path: SOURCE });
    }
    const expected = group.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4), 0);
    const parts: Buffer[] = [];
    for (const p of group.paths) {
      const file = path.resolve(dir, p);
      try {
        parts.push(await fs.readFile(file));
      } catch {
        throw new AtlasError(`${modelJson}: weight file "${p}" is missing (expected at ${file})`, { file, path: SOURCE });
      }
    }
    const data = Buffer.concat(parts);
    if (data.length < expected) {
      throw new AtlasError(`${modelJson}: weight file(s) ${group.paths.join(', ')} hold ${data.length} bytes, expected ${expected} (truncated?)`, {
        file: path.resolve(dir, group.paths[0] ?? ''),
        path: SOURCE,
      });
    }
    hash.update(data);
    buffers.push(data);
    weightSpecs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const handler: tf.io.IOHandler = {
    load: async () => ({ modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs, weightData, format: 'layers-model' }),
  };
  try {
    const model = await tf.loadLayersModel(handler);
    return { model, weightsHash: hash.digest('hex') };
  } catch (err) {
    throw new AtlasError(`${modelJson}: TF.js could not build the model: ${(err as Error).message.split('\n')[0]}`, { file: modelJson, path: SOURCE });
  }
}

/** A labels file is a JSON array of class names, index = class id. */
export async function loadLabels(file: string, classCount: number, key = 'model.labels'): Promise<string[]> {
  const where = { file, key, path: key.split('.') };
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new AtlasError(`${key}: cannot read labels file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a JSON array of ${classCount} class names`, where);
  }
  let labels: unknown;
  try {
    labels = JSON.parse(raw);
  } catch (err) {
    throw new AtlasError(`${file}: labels file is not JSON: ${(err as Error).message}; expected a JSON array of ${classCount} class names`, where);
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new AtlasError(`${file}: labels file must be a JSON array of class names (strings)`, where);
  }
  if (labels.length !== classCount) {
    throw new AtlasError(`${file}: labels file has ${labels.length} names but the model has ${classCount} classes; expected one name per class (${classCount})`, where);
  }
  return labels as string[];
}
