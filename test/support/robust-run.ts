/**
 * Helpers for the robustness tests: the CLI as a child process (node + tsx directly, so a signal
 * reaches the pipeline itself and not a wrapper), folder hashes, small configs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export { ROOT, MODELS } from './fixtures.ts';
import { MODELS, ROOT } from './fixtures.ts';
export const SMALL_MODEL = path.join(MODELS, 'mobilenet_v1_0.25_224');

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

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'pipeline/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ATLAS_MODELS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { test: (s: string) => boolean; resolve: (v: boolean) => void }[] = [];
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    for (const w of waiters.filter((x) => x.test(err))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(true);
    }
  });
  const done = new Promise<CliResult>((resolve) => {
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

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return spawnCli(args, env).done;
}

/** Every file below `dir` (hidden ones too) with its bytes' hash, sorted: equal maps ⇔ unchanged folder. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, abs);
    if (e.isFile()) out.set(rel, createHash('sha256').update(await fs.readFile(abs)).digest('hex'));
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

export async function writeConfig(file: string, text: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  return file;
}
