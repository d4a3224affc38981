/**
 * Where the tests find their models: one place, one order.
 *
 * 1. `ATLAS_MODELS`, when set (a folder of model folders by id, like `../shared/models`);
 * 2. `../shared/models` beside the checkout;
 * 3. the public TF.js MobileNets, downloaded once into `.atlas-cache/` by the pipeline's own
 *    downloader (the same layout `build:atlas` keeps: `.atlas-cache/<id>/model.json`), so that the
 *    cache folder is itself a models folder. Tests of files that only the shared folder holds (Keras,
 *    ONNX) skip with a reason there.
 *
 * `test/support/run-tests.ts` resolves this once before any test starts and hands the folder to
 * every test process as `ATLAS_MODELS`; `fixtures.ts` reads it (and resolves without downloading
 * when a test file is run on its own).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadModel } from '../../pipeline/model/source.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The models the tests use that have a public URL (the same as the default config's `model.source`). */
export const PUBLIC_MODELS: Readonly<Record<string, string>> = {
  'mobilenet_v1_0.75_224': 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.75_224/model.json',
  'mobilenet_v1_0.25_224': 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json',
};

export type ModelsOrigin = 'ATLAS_MODELS' | 'shared' | 'download';

export interface TestModels {
  dir: string;
  from: ModelsOrigin;
}

export interface ResolveTestModelsOptions {
  env?: NodeJS.ProcessEnv;
  root?: string;
  /** The public URLs by model id (default `PUBLIC_MODELS`). */
  urls?: Readonly<Record<string, string>>;
  fetchImpl?: typeof fetch;
}

const hasModels = (dir: string, ids: string[]) => ids.every((id) => fs.existsSync(path.join(dir, id, 'model.json')));

/** Steps 1 and 2, and a download already complete (no network): the folder, or undefined. */
export function localTestModels(options: ResolveTestModelsOptions = {}): TestModels | undefined {
  const env = options.env ?? process.env;
  const root = options.root ?? ROOT;
  if (env.ATLAS_MODELS) {
    const dir = path.resolve(env.ATLAS_MODELS);
    if (!fs.existsSync(dir)) throw new Error(`ATLAS_MODELS=${env.ATLAS_MODELS}: no such folder; set ATLAS_MODELS to a folder of models (like ../shared/models) or unset it`);
    return { dir, from: 'ATLAS_MODELS' };
  }
  const shared = path.resolve(root, '..', 'shared', 'models');
  if (fs.existsSync(shared)) return { dir: shared, from: 'shared' };
  const cache = path.join(root, '.atlas-cache');
  if (hasModels(cache, Object.keys(options.urls ?? PUBLIC_MODELS))) return { dir: cache, from: 'download' };
  return undefined;
}

/** The one line printed when no models can be had, naming what to set. */
export function noModelsMessage(root: string, why: string): string {
  return `npm test: no test models: ATLAS_MODELS is unset, ${path.resolve(root, '..', 'shared', 'models')} does not exist, and the public models could not be downloaded into .atlas-cache/ (${why}); set ATLAS_MODELS to a folder of models (like ../shared/models) or connect to the network`;
}

/** The three steps in order; downloads what step 3 needs. Throws with `noModelsMessage` when none works. */
export async function resolveTestModels(options: ResolveTestModelsOptions = {}): Promise<TestModels> {
  const local = localTestModels(options);
  if (local) return local;
  const root = options.root ?? ROOT;
  const cache = path.join(root, '.atlas-cache');
  try {
    for (const [id, url] of Object.entries(options.urls ?? PUBLIC_MODELS)) await downloadModel(url, path.join(cache, id), options.fetchImpl ?? fetch);
  } catch (err) {
    const text = (err instanceof Error ? err.message : String(err)).replace(/^model\.source: /, '');
    throw new Error(noModelsMessage(root, text.split(/[;\n]/)[0]!), { cause: err });
  }
  return { dir: cache, from: 'download' };
}
