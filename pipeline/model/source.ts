/**
 * Where a model's files are: resolves the config's `model.source` (a TF.js folder or model.json,
 * a Keras `.keras` or `.h5` file, an ONNX `.onnx` file, or an http(s) URL of any of these) to a local model file,
 * downloading a URL once into a cache folder (the format is told by content, see model/read.ts).
 * `ATLAS_MODELS` names a folder of local models searched first by the model's id.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AtlasError } from '../errors.ts';
import { exists, writeFileAtomic } from '../output/atomic.ts';
import { detectFormat } from './read.ts';

export interface ResolvedModel {
  /** Absolute path of the model file: a TF.js model.json, a Keras .keras or .h5 file. */
  modelJson: string;
  /** Where it came from, for the manifest: the path or URL the config named, or the ATLAS_MODELS folder. */
  origin: string;
}

export interface ResolveOptions {
  id: string;
  source: string;
  /** Folder the config's relative paths are relative to. */
  baseDir: string;
  /** ATLAS_MODELS, when set. */
  modelsDir?: string;
  /** Where downloads are kept. */
  cacheDir: string;
  fetchImpl?: typeof fetch;
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** A folder holds model.json; a path may name model.json itself. */
async function modelJsonIn(p: string): Promise<string | undefined> {
  const stat = await fs.stat(p).catch(() => undefined);
  if (!stat) return undefined;
  if (stat.isDirectory()) {
    const candidate = path.join(p, 'model.json');
    return (await exists(candidate)) ? candidate : undefined;
  }
  return p;
}

export async function resolveModel(options: ResolveOptions): Promise<ResolvedModel> {
  if (options.modelsDir) {
    const local = await modelJsonIn(path.resolve(options.modelsDir, options.id));
    if (local) return { modelJson: local, origin: options.source };
  }
  if (isUrl(options.source)) {
    const modelJson = await downloadModel(options.source, path.join(options.cacheDir, safeId(options.id)), options.fetchImpl ?? fetch);
    return { modelJson, origin: options.source };
  }
  const target = path.resolve(options.baseDir, options.source);
  const found = await modelJsonIn(target);
  if (!found) {
    const where = options.modelsDir ? ` (nor ${path.join(options.modelsDir, options.id)} from ATLAS_MODELS)` : '';
    const what = (await exists(target)) ? `${path.join(target, 'model.json')} does not exist` : `${target} does not exist`;
    throw new AtlasError(
      `model.source: no model at "${options.source}": ${what}${where}; expected a folder holding model.json, a model.json path, a Keras .keras or .h5 file, an ONNX .onnx file, or an http(s) URL`,
      {
        key: 'model.source',
        path: ['model', 'source'],
      },
    );
  }
  return { modelJson: found, origin: options.source };
}

function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** A single-file model downloaded before (Keras, ONNX), kept under its format's name. */
const SINGLE_FILES = { keras: 'model.keras', h5: 'model.h5', onnx: 'model.onnx' } as const;

/**
 * Downloads a model once; later runs reuse the cache. A Keras file (ZIP or HDF5 content) is one
 * file; a TF.js model.json brings every weight file it names.
 */
export async function downloadModel(url: string, dir: string, fetchImpl: typeof fetch): Promise<string> {
  const modelJson = path.join(dir, 'model.json');
  if (await exists(modelJson)) return modelJson;
  for (const name of Object.values(SINGLE_FILES)) if (await exists(path.join(dir, name))) return path.join(dir, name);
  await fs.mkdir(dir, { recursive: true });
  const get = async (u: string): Promise<Buffer> => {
    let res: Response;
    try {
      res = await fetchImpl(u);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new AtlasError(`model.source: cannot reach ${u} (${why}); expected a reachable URL of a TF.js model.json (or set ATLAS_MODELS to a folder of local models)`, {
        key: 'model.source',
        path: ['model', 'source'],
      });
    }
    if (!res.ok) {
      throw new AtlasError(`model.source: ${u} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}; expected 200 with ${u === url ? "the model's model.json" : 'a weight file'}`, {
        key: 'model.source',
        path: ['model', 'source'],
      });
    }
    return Buffer.from(await res.arrayBuffer());
  };
  const json = await get(url);
  const format = detectFormat(json);
  if (format === 'keras' || format === 'h5' || format === 'onnx') {
    // An ONNX file with external data names files beside it, which a URL download does not bring: its load says which.
    const file = path.join(dir, SINGLE_FILES[format]);
    await writeFileAtomic(file, json);
    return file;
  }
  let parsed: { weightsManifest?: { paths: string[] }[] };
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    throw new AtlasError(`model.source: ${url} is neither a Keras or ONNX model file nor JSON; expected a .keras, .h5, .onnx or TF.js model.json`, { key: 'model.source', path: ['model', 'source'] });
  }
  for (const group of parsed.weightsManifest ?? []) {
    for (const p of group.paths) {
      if (p.includes('..') || path.isAbsolute(p)) {
        throw new AtlasError(`model.source: weight path "${p}" in ${url} leaves the model folder; expected a path relative to model.json`, { key: 'model.source', path: ['model', 'source'] });
      }
      const data = await get(new URL(p, url).toString());
      await writeFileAtomic(path.join(dir, p), data);
    }
  }
  // model.json last: its presence marks a complete download.
  await writeFileAtomic(modelJson, json);
  return modelJson;
}
