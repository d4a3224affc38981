/**
 * Loading a model: `loadModel` for the pipeline (any format → ModelSpec → lean graph), and
 * `loadLayersModelFromFile` (a TF.js layers model through tf.layers) for tests and benches that
 * compare against TF.js's own execution. Labels files too.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import { AtlasError } from '../errors.ts';
import { readTfjsArtifacts } from './formats/tfjs.ts';

export { loadModel, loadModelSpec, type LoadedModelSpec, type ModelFormat } from './read.ts';

/** Model errors point at the config's model.source line. */
const SOURCE = ['model', 'source'];

export interface LoadedModel {
  model: tf.LayersModel;
  /** sha256 of model.json and every weight file, in manifest order: what determines the weights. */
  weightsHash: string;
}

export async function loadLayersModelFromFile(modelJson: string): Promise<LoadedModel> {
  const art = await readTfjsArtifacts(modelJson);
  const handler: tf.io.IOHandler = {
    load: async () => ({ modelTopology: art.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs: art.weightSpecs, weightData: art.weightData, format: 'layers-model' }),
  };
  try {
    const model = await tf.loadLayersModel(handler);
    return { model, weightsHash: art.weightsHash };
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
