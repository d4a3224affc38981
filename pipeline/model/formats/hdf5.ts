/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly: no native build). Files are
 * opened from bytes in h5wasm's in-memory file system, so a `.keras` ZIP's weights never touch
 * the disk. Keras 2 whole models (`.h5`: `model_config` attribute, `model_weights` groups) and
 * Keras 3 weight stores (`model.weights.h5`: `layers/<slot>/vars/<i>`) are read here.
 */
import * as h5wasm from 'h5wasm';
import { AtlasError } from '../../errors.ts';
import type { WeightReader } from '../spec.ts';
import { checkedRead, namedWeightReader, type LazyWeight } from './named-weights.ts';
import { variableNames } from '../spec.ts';

/** The first 8 bytes of every HDF5 file (at offset 0 for the files Keras writes). */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

let opened = 0;

/** The innermost cause in an HDF5 error stack ("truncated file: eof = …"), else its first line. */
function hdf5Reason(err: unknown): string {
  const lines = String((err as Error)?.message ?? err).split('\n');
  const causes = lines.map((l) => /#\d+: .* in [\w.]+\(\): (.*)$/.exec(l)?.[1]).filter((c): c is string => !!c);
  return causes[causes.length - 1] ?? lines[0] ?? 'unreadable';
}

export interface Hdf5 {
  file: h5wasm.File;
  close(): void;
}

/** Opens HDF5 bytes; a file the library cannot open is an AtlasError naming `name`. */
export async function openHdf5(bytes: Uint8Array, name: string): Promise<Hdf5> {
  const module = await h5wasm.ready;
  // HDF5 errors as exceptions (with the library's message) instead of a stack printed to stderr.
  module.activate_throwing_error_handler();
  const memPath = `/atlas-${process.pid}-${++opened}.h5`;
  module.FS.writeFile(memPath, bytes);
  let file: h5wasm.File;
  try {
    file = new h5wasm.File(memPath, 'r');
    if (!file.file_id || file.file_id < 0n) throw new Error('not an HDF5 file');
    file.keys();
  } catch (err) {
    module.FS.unlink(memPath);
    throw new AtlasError(`${name}: cannot read it as HDF5 (${hdf5Reason(err)}); the file is corrupt or truncated`, { file: name, path: ['model', 'source'] });
  }
  return {
    file,
    close: () => {
      file.close();
      module.FS.unlink(memPath);
    },
  };
}

function lazy(ds: h5wasm.Dataset, name: string, where: string): LazyWeight {
  return {
    shape: (ds.shape ?? []) as number[],
    read: () => {
      let value: unknown;
      try {
        value = ds.value;
      } catch (err) {
        throw new AtlasError(`${name}: cannot read dataset ${where} (${(err as Error).message}); the file is corrupt or truncated`, { file: name, path: ['model', 'source'] });
      }
      if (value instanceof Float32Array) return value;
      if (value instanceof Float64Array) return Float32Array.from(value);
      // Other types (float16 bits as integers, strings) would be misread as numbers.
      throw new AtlasError(`${name}: dataset ${where} has type ${JSON.stringify(ds.dtype)}; expected float32 or float64 weights`, { file: name, path: ['model', 'source'] });
    },
  };
}

/** A string or string-array attribute as a list. */
export function attrList(obj: { attrs: Record<string, h5wasm.Attribute> }, key: string): string[] {
  const v = obj.attrs[key]?.value;
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String).filter((s) => s !== '');
}

/** Keras 2: weights under `model_weights/<outermost layer>/<weight name>`, listed in `weight_names`. */
export function keras2Reader(h5: Hdf5, name: string): WeightReader {
  const root = h5.file.get('model_weights');
  const cache = new Map<string, Map<string, LazyWeight>>();
  return namedWeightReader(name, (top) => {
    let group = cache.get(top);
    if (group) return group;
    group = new Map();
    const g = root instanceof h5wasm.Group ? root.get(top) : undefined;
    if (g instanceof h5wasm.Group) {
      for (const w of attrList(g, 'weight_names')) {
        const ds = g.get(w);
        if (ds instanceof h5wasm.Dataset) group.set(w, lazy(ds, name, `model_weights/${top}/${w}`));
      }
    }
    cache.set(top, group);
    return group;
  });
}

/**
 * A Keras 3 layer's `vars` group: under its slot path, or (tf.keras 2.15 on Windows) under one
 * root group whose name joins that path with backslashes (`layers\sequential\layers\conv2d/vars`).
 */
function varsGroup(h5: Hdf5, slotPath: string): h5wasm.Group | undefined {
  for (const p of [slotPath, slotPath.replace(/\//g, '\\')]) {
    const g = h5.file.get(`${p}/vars`);
    if (g instanceof h5wasm.Group) return g;
  }
  return undefined;
}

/** Keras 3: `<keras3Path>/vars/0, 1, …` in the layer's variable order. */
export function keras3Reader(h5: Hdf5, name: string): WeightReader {
  return (layer, where) => {
    const names = variableNames(layer.className, layer.config);
    if (names.length === 0) return [];
    const vars = varsGroup(h5, where.keras3Path);
    const count = vars?.keys().length ?? 0;
    if (!vars || count < names.length) {
      throw new AtlasError(`${name}: layer "${layer.name}" (${layer.className}) needs ${names.length} weights (${names.join(', ')}) at ${where.keras3Path}/vars, found ${count}`, {
        file: name,
        path: ['model', 'source'],
      });
    }
    return names.map((v, i) => {
      const ds = vars.get(String(i));
      if (!(ds instanceof h5wasm.Dataset)) throw new AtlasError(`${name}: ${where.keras3Path}/vars/${i} is not a dataset`, { file: name, path: ['model', 'source'] });
      return checkedRead(name, layer, v, lazy(ds, name, `${where.keras3Path}/vars/${i}`));
    });
  };
}
