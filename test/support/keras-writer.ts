/**
 * Writes model files the way Keras lays them out, for tests that need files no fixture has
 * (bad files, layer types): a Keras 2 whole-model `.h5` from a tf.layers model (its `toJSON()` is a
 * Keras 2 config; weights under `model_weights/<layer>/<layer>/<var>:0`), and `.keras` ZIPs.
 */
import * as tf from '@tensorflow/tfjs';
import { zipSync, strToU8 } from 'fflate';
import * as h5wasm from 'h5wasm';

let count = 0;

export interface H5Weight {
  name: string;
  data: Float32Array;
  shape: number[];
}

/** Creates the groups of a "/"-separated dataset name and the dataset. */
function putDataset(root: h5wasm.Group, name: string, w: H5Weight): void {
  const parts = name.split('/');
  let g = root;
  for (const p of parts.slice(0, -1)) g = (g.get(p) as h5wasm.Group | null) ?? g.create_group(p);
  g.create_dataset({ name: parts[parts.length - 1]!, data: w.data, shape: w.shape, dtype: '<f' });
}

/** An HDF5 file in h5wasm's memory file system → bytes. */
export async function writeH5(fill: (f: h5wasm.File) => void): Promise<Uint8Array> {
  const module = await h5wasm.ready;
  const mem = `/test-${process.pid}-${++count}.h5`;
  const f = new h5wasm.File(mem, 'w');
  fill(f);
  f.close();
  const bytes = module.FS.readFile(mem) as Uint8Array;
  module.FS.unlink(mem);
  return bytes;
}

/**
 * A Keras 2 `.h5`: `model_config` (unless null: a weights-only file) and `model_weights`. `weights`
 * maps each layer to its weights, named "<layer>/<var>:0" (`sep` "\\" writes them as Windows-saved files do).
 */
export function keras2H5(config: unknown, weights: Map<string, H5Weight[]>, sep = '/'): Promise<Uint8Array> {
  return writeH5((f) => {
    if (config !== null) f.create_attribute('model_config', JSON.stringify(config));
    f.create_attribute('keras_version', '2.8.0');
    f.create_attribute('backend', 'tensorflow');
    const root = config === null ? f : f.create_group('model_weights');
    root.create_attribute('layer_names', [...weights.keys()]);
    for (const [layer, list] of weights) {
      const g = root.create_group(layer);
      const names = list.map((w) => w.name.replace('/', sep));
      g.create_attribute('weight_names', names.length ? names : ['']);
      list.forEach((w, i) => (sep === '/' ? putDataset(g, names[i]!, w) : g.create_dataset({ name: names[i]!, data: w.data, shape: w.shape, dtype: '<f' })));
    }
  });
}

/** A tf.layers model as Keras 2 would save it: its config and its weights by layer. */
export function keras2FromLayersModel(model: tf.LayersModel, sep = '/'): Promise<Uint8Array> {
  const weights = new Map<string, H5Weight[]>();
  for (const layer of model.layers) {
    weights.set(
      layer.name,
      layer.weights.map((w) => ({ name: `${w.originalName}:0`, data: Float32Array.from(w.read().dataSync()), shape: w.shape as number[] })),
    );
  }
  return keras2H5(model.toJSON(null, false), weights, sep);
}

/** A Keras 3 `.keras` ZIP from its entries. */
export function kerasZip(config: unknown, weightsH5: Uint8Array): Uint8Array {
  return zipSync({
    'metadata.json': strToU8(JSON.stringify({ keras_version: '3.8.0' })),
    'config.json': strToU8(JSON.stringify(config)),
    'model.weights.h5': weightsH5,
  });
}
