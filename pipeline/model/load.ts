/**
 * Loading a model: `loadModel` for the pipeline (any format → ModelSpec → lean graph), and
 * `loadLayersModelFromFile` (a TF.js layers model through tf.layers) for tests and benches that
 * compare against TF.js's own execution. Labels files: `labels.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { AtlasError } from '../errors.ts';
import { readTfjsArtifacts } from './formats/tfjs.ts';

export { loadModel, loadModelSpec, type LoadedModelSpec, type ModelFormat } from './read.ts';
export { loadLabels } from './labels.ts';

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
