/**
 * Keras files as Keras writes them:
 * - `.keras` (Keras 3): a ZIP of `config.json`, `metadata.json`, `model.weights.h5`, read in
 *   memory (entries are never extracted to paths named inside the file), sizes capped;
 * - `.h5` / `.hdf5` (Keras 2): one HDF5 file, the config in the root's `model_config` attribute and
 *   the weights under `model_weights`.
 */
import { strFromU8, unzipSync, type UnzipFileInfo } from 'fflate';
import { AtlasError } from '../../errors.ts';
import { specFromConfig } from '../keras-config.ts';
import type { ModelSpec } from '../spec.ts';
import { attrList, keras2Reader, keras3Reader, openHdf5 } from './hdf5.ts';

/** Uncompressed caps for a `.keras` ZIP's entries (bytes). */
const MAX_CONFIG_BYTES = 64 * 2 ** 20;
export const MAX_WEIGHTS_BYTES = 2 ** 31 - 2 ** 20;

/** How to save a whole model, for messages about files that hold only weights. */
const SAVE_WHOLE_MODEL = 'save the whole model from Keras in one line: model.save("model.keras") (or model.save("model.h5") on Keras 2), then point model.source at that file';

function fail(file: string, message: string): never {
  throw new AtlasError(`${file}: ${message}`, { file, path: ['model', 'source'] });
}

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(file, `${what} is not valid JSON (${(err as Error).message}); the file is corrupt`);
  }
}

/** A Keras 3 `.keras` ZIP → ModelSpec. */
export async function readKerasZip(bytes: Uint8Array, file: string): Promise<ModelSpec> {
  const wanted = new Set(['config.json', 'model.weights.h5', 'metadata.json']);
  const tooBig: string[] = [];
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f: UnzipFileInfo) => {
        if (!wanted.has(f.name)) return false;
        const cap = f.name === 'model.weights.h5' ? MAX_WEIGHTS_BYTES : MAX_CONFIG_BYTES;
        if (f.originalSize > cap) tooBig.push(`${f.name} (${f.originalSize} bytes, limit ${cap})`);
        return f.originalSize <= cap;
      },
    });
  } catch (err) {
    return fail(file, `cannot read it as a ZIP (${(err as Error).message}); the .keras file is corrupt or truncated`);
  }
  if (tooBig.length) fail(file, `entry ${tooBig.join(', ')} is larger than a model file may be`);
  const config = entries['config.json'];
  const weights = entries['model.weights.h5'];
  if (!config) fail(file, 'the ZIP has no config.json; expected a Keras 3 .keras file (config.json, metadata.json, model.weights.h5)');
  if (!weights) fail(file, `the ZIP has no model.weights.h5; expected a Keras 3 .keras file with its weights`);
  const json = parseJson(strFromU8(config), file, 'config.json');
  const h5 = await openHdf5(weights, `${file} (model.weights.h5)`);
  try {
    return specFromConfig(json, keras3Reader(h5, file), file);
  } finally {
    h5.close();
  }
}

/** A Keras 2 whole-model `.h5` → ModelSpec; a weights-only file is refused with how to save a whole model. */
export async function readKerasH5(bytes: Uint8Array, file: string): Promise<ModelSpec> {
  const h5 = await openHdf5(bytes, file);
  try {
    const config = h5.file.attrs.model_config?.value;
    if (config === undefined || config === null) {
      const keys = h5.file.keys();
      const weightsOnly = keys.includes('layers') || keys.includes('model_weights') || attrList(h5.file, 'layer_names').length > 0;
      fail(
        file,
        weightsOnly
          ? `this .h5 holds only weights (no model_config: saved with save_weights, or a keras.applications weights cache), so the architecture is unknown; ${SAVE_WHOLE_MODEL}`
          : `this HDF5 file is not a Keras model (no model_config attribute); ${SAVE_WHOLE_MODEL}`,
      );
    }
    const text = typeof config === 'string' ? config : config instanceof Uint8Array ? strFromU8(config) : JSON.stringify(config);
    const json = parseJson(text, file, 'the model_config attribute');
    const source = h5.file.get('model_weights') ? keras2Reader(h5, file) : keras3Reader(h5, file);
    return specFromConfig(json, source, file);
  } finally {
    h5.close();
  }
}
