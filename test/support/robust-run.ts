/**
 * Helpers for the robustness tests: the CLI without ATLAS_MODELS (fixtures.ts runs it), folder
 * hashes, temporaries.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export { ROOT, MODELS, writeConfig } from './fixtures.ts';
import { MODELS, spawnCli as spawnAtlasCli, type CliProcess, type CliResult } from './fixtures.ts';
export const SMALL_MODEL = path.join(MODELS, 'mobilenet_v1_0.25_224');

/** The CLI as the robustness tests run it: without ATLAS_MODELS, so each config's own model source is used. */
const ISOLATED = { ATLAS_MODELS: '' };
export const spawnCli = (args: string[], env: NodeJS.ProcessEnv = {}): CliProcess => spawnAtlasCli(args, { ...ISOLATED, ...env });
export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => spawnCli(args, env).done;

/** Every file below `dir` (hidden ones too) with its bytes' hash, sorted: equal maps ⇔ unchanged folder. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, abs);
    if (e.isFile())
      out.set(
        rel,
        createHash('sha256')
          .update(await fs.readFile(abs))
          .digest('hex'),
      );
    else if (e.isDirectory()) out.set(`${rel}/`, 'dir');
    else out.set(rel, 'other');
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Files below `dir` whose name is a temporary of writeFileAtomic. */
export async function temporaries(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => /\.tmp-/.test(e.name)).map((e) => path.join(e.parentPath, e.name));
}
