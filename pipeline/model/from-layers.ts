/**
 * A `tf.LayersModel` built in code (tests, benches: `bench/architectures.ts`) → ModelSpec, through
 * the same config parser as model files: its config is `model.toJSON()` (Keras JSON) and its
 * weights are read by name (`conv1/kernel`) like a TF.js model's.
 */
import * as tf from '@tensorflow/tfjs';
import { specFromConfig } from './keras-config.ts';
import { namedWeightReader } from './formats/named-weights.ts';
import { tensorWeights } from './formats/tfjs.ts';
import type { ModelSpec } from './spec.ts';

export function specFromLayersModel(model: tf.LayersModel): ModelSpec {
  const config = model.toJSON(null, false);
  const values = model.weights.map((w) => w.read());
  const named = Object.fromEntries(model.weights.map((w, i) => [w.originalName, values[i]!]));
  const all = tensorWeights(named);
  return specFromConfig(
    config,
    namedWeightReader(model.name, () => all),
    model.name,
  );
}
