/** Shared test helpers: the repo root, the shared models, temp folders and running the CLI. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selectBackend, type BackendChoice } from '../../pipeline/engine/backend.ts';
import type { LeanGraph } from '../../pipeline/engine/graph.ts';
import { loadModel } from '../../pipeline/model/load.ts';
import { localTestModels, noModelsMessage, ROOT } from './models.ts';

export { ROOT };
const models = localTestModels();
if (!models) throw new Error(noModelsMessage(ROOT, 'run this file through `npm run test:node -- <file>`, which downloads them'));
/** The folder of test models (`models.ts`: ATLAS_MODELS, ../shared/models, or the download in .atlas-cache/). */
export const MODELS = models.dir;
export const PHOTOS = path.resolve(MODELS, '..', 'photos');
export const M075 = 'mobilenet_v1_0.75_224';
export const M025 = 'mobilenet_v1_0.25_224';

export async function tempDir(prefix = 'atlas-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes `<dir>/<name>` (creating the folder); returns its path. */
export async function writeConfig(dir: string, yaml: string, name = 'atlas.config.yaml'): Promise<string> {
  if (/\.ya?ml$/.test(dir)) throw new Error(`writeConfig(${dir}, …): the first argument is the folder; the file name comes third`);
  const file = path.join(dir, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(file, yaml);
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once stderr contains `text` (or the process ended: then false). */
  waitFor(text: string | RegExp): Promise<boolean>;
  done: Promise<CliResult>;
}

/**
 * `pipeline/cli.ts` in a child process (node + tsx directly, so a signal reaches the pipeline
 * itself and not a wrapper), with this process's environment, the test models as `ATLAS_MODELS`,
 * plus `env` (which may override it: `ATLAS_MODELS: ''` runs with the config's own source only).
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'pipeline', 'cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ATLAS_MODELS: MODELS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { test: (s: string) => boolean; resolve: (v: boolean) => void }[] = [];
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    for (const w of [...waiters]) {
      if (!w.test(err)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(true);
    }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.resolve(false);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stderr: () => err,
    waitFor(text) {
      const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
      if (test(err)) return Promise.resolve(true);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(false);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    done,
  };
}

/** Runs `pipeline/cli.ts` in a child process (real exit codes and output). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return spawnCli(args, env).done;
}

/** The lean graph of a shared model on the given backend (tests of methods and objectives). */
export async function sharedGraph(id: string, backend: BackendChoice = 'wasm'): Promise<LeanGraph> {
  await selectBackend(backend);
  return (await loadModel(path.join(MODELS, id, 'model.json'))).graph;
}
