/**
 * Command line: `pipeline` renders the atlas data; `build` renders it and then builds the site.
 * Exit codes: 0 ok; 1 some units failed, or an unexpected error; 2 bad input (config, model, labels,
 * paths; nothing in the output folder was touched); 3 another run holds the output folder's lock;
 * 130 interrupted by Ctrl-C (143 by SIGTERM) after keeping every finished unit.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendChoice } from './engine/backend.ts';
import { relaunchWithCudaLibraries } from './engine/onnx/cuda-libs.ts';
import { AtlasError } from './errors.ts';
import { handleInterrupts } from './interrupt.ts';
import { LockHeldError } from './lock.ts';
import { runMerge } from './merge-cli.ts';
import { runPipeline } from './run.ts';
import { parseShard, shardFromEnv } from './shard.ts';

const USAGE = `usage: filter-atlas <pipeline|build> [--config FILE] [--site-url URL --base PATH] [--backend auto|${BACKEND_NAMES.join('|')}] [--workers N|auto] [--shard i/n] [--output DIR] [--force] [--quiet]
       filter-atlas merge <shard folder>... --into DIR [--allow-partial] [--quiet]

  pipeline   render the atlas data (images, GIFs, contact sheets, manifest.json)
  build      pipeline, then the static site into dist/
  merge      put the output folders of sharded runs together into one atlas (then: npm run site)

  --config FILE   atlas config (default: atlas.config.yaml)
  --backend NAME  force a TensorFlow.js backend (default: render.backend, then auto)
  --dist DIR      where \`build\` writes the site (default: dist)
  --site-url URL  build: the public origin for absolute links and social cards (overrides site.url)
  --base PATH     build: the base path, e.g. /my-repo/ (overrides site.base)
  --workers N     worker processes rendering batches at once, or auto (default: render.workers)
  --shard i/n     render only shard i (0-based) of n, into <output>.shard-i-of-n; also read from
                  Slurm array, Kubernetes Indexed Job and ATLAS_SHARD_INDEX/ATLAS_SHARD_COUNT variables
  --output DIR    write here instead of the config's output folder
  --into DIR      merge: the atlas folder to write (the site reads it)
  --allow-partial merge: write the atlas even when units are missing (they are marked failed)
  --force         recompute every unit, ignoring cached results
  --quiet         no progress output

A rerun reuses every unit whose settings did not change and whose files exist, so an interrupted
run continues where it stopped. Ctrl-C stops after the current batch (twice: at once).
Exit codes: 0 ok, 1 units failed, 2 bad input, 3 output folder in use by another run, 130 interrupted.

More: docs/config.md (every config key), docs/troubleshooting.md (exit codes and messages),
docs/scale.md (workers, shards, merge), docs/performance.md (backends).
`;

export const EXIT = { ok: 0, failed: 1, badInput: 2, locked: 3 } as const;

const OPTIONS = {
  config: { type: 'string', default: 'atlas.config.yaml' },
  dist: { type: 'string', default: 'dist' },
  'site-url': { type: 'string' },
  base: { type: 'string' },
  backend: { type: 'string' },
  workers: { type: 'string' },
  shard: { type: 'string' },
  output: { type: 'string' },
  into: { type: 'string' },
  'allow-partial': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** The command line parsed, or the message of what is wrong with it. */
function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    return (err as Error).message;
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${USAGE}`);
    return EXIT.badInput;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command || !['pipeline', 'build', 'merge'].includes(command)) {
    process.stderr.write(USAGE);
    return values.help ? EXIT.ok : EXIT.badInput;
  }
  if (command === 'merge') return runMerge(positionals.slice(1), values.into, values['allow-partial'], values.quiet);
  const flags = checkFlags(values.backend, values.workers);
  if (typeof flags === 'string') {
    process.stderr.write(`${flags}\n`);
    return EXIT.badInput;
  }
  const { backend, workers } = flags;
  // Where the CUDA provider's libraries need LD_LIBRARY_PATH (PyTorch's nvidia-* packages), this process starts again with it, once.
  if (!backend || backend === 'auto' || backend === 'onnx-cuda') relaunchWithCudaLibraries();
  const interrupts = handleInterrupts();
  try {
    const shard = values.shard ? parseShard(values.shard) : shardFromEnv(process.env);
    const summary = await runPipeline({
      configFile: values.config,
      force: values.force,
      backend,
      quiet: values.quiet,
      signal: interrupts.signal,
      workers,
      shard,
      output: values.output,
    });
    if (summary.interrupted) return interrupts.exitCode() ?? 130;
    if (command === 'build') {
      // One-off public URL and base path for this build (the Pages workflow sets the same variables).
      if (values['site-url']) process.env.ATLAS_SITE_URL = values['site-url'];
      if (values.base !== undefined) process.env.ATLAS_SITE_BASE = values.base;
      const { buildSite } = await import('./site.ts');
      await buildSite(path.resolve(values.config), values.quiet, path.resolve(values.dist));
    }
    return summary.failed > 0 || summary.problems.length > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    return exitFor(err);
  } finally {
    interrupts.dispose();
  }
}

/** --backend and --workers checked, or the message of the first bad one. */
function checkFlags(backendFlag: string | undefined, workersFlag: string | undefined): { backend?: BackendChoice; workers?: number | 'auto' } | string {
  const backend = backendFlag as BackendChoice | undefined;
  if (backend && backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    return `--backend: unknown backend "${backend}"; expected auto or ${BACKEND_NAMES.join(', ')}`;
  }
  const workers = workersFlag === undefined || workersFlag === 'auto' ? workersFlag : Number(workersFlag);
  if (typeof workers === 'number' && !(Number.isInteger(workers) && workers >= 1)) {
    return `--workers: "${workersFlag}" is not a worker count; expected auto or a whole number ≥ 1`;
  }
  return { backend, workers };
}

/** The exit code of an error that ended a run, after printing it. */
function exitFor(err: unknown): number {
  if (err instanceof AtlasError || err instanceof LockHeldError) {
    process.stderr.write(`error: ${err.message}\n`);
    return err instanceof AtlasError ? EXIT.badInput : EXIT.locked;
  }
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  return EXIT.failed;
}

process.exitCode = await main(process.argv.slice(2));
