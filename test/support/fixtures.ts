/** Shared test helpers: the repo root, the shared models, temp folders and running the CLI. */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendChoice } from '../../pipeline/engine/backend.ts';
import type { LeanGraph } from '../../pipeline/engine/graph.ts';
import { loadModel } from '../../pipeline/model/load.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The folder of local models (ATLAS_MODELS), by default ../shared/models beside the checkout. */
export const MODELS = path.resolve(process.env.ATLAS_MODELS ?? path.join(ROOT, '..', 'shared', 'models'));
export const PHOTOS = path.resolve(MODELS, '..', 'photos');
export const M075 = 'mobilenet_v1_0.75_224';
export const M025 = 'mobilenet_v1_0.25_224';

export async function tempDir(prefix = 'atlas-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function writeConfig(dir: string, yaml: string, name = 'atlas.config.yaml'): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, yaml);
  return file;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pipeline/cli.ts` in a child process (real exit codes and output). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'pipeline', 'cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The lean graph of a shared model on the given backend (tests of methods and objectives). */
export async function sharedGraph(id: string, backend: BackendChoice = 'wasm'): Promise<LeanGraph> {
  await selectBackend(backend);
  return (await loadModel(path.join(MODELS, id, 'model.json'))).graph;
}
