/**
 * The lucid job end to end (`job.yaml`: MobileNet v1 0.75, 4 classes and 4 filters of
 * `conv_pw_6_relu`, 512 steps, batch 4, onnx-cpu), as `npm run pipeline` runs it, for one or more
 * source trees and worker settings, alternating between them round by round so that they share the
 * machine's load. Each run is a fresh output folder (nothing reused); a row per run gives the wall
 * and CPU seconds, each batch's seconds from the manifest, and the pipeline's own quality numbers.
 *
 *   npm run bench:lucid-job -- [--json] [--tree before=/path/to/old/checkout] [--workers 1,auto] [--rounds 1] [--out DIR] [--note TEXT]
 *
 * `--tree label=path` adds a checkout to compare (e.g. a `git worktree` of an older commit, with its
 * own node_modules); this checkout is always `this`. CPU seconds come from `/usr/bin/time` where it
 * exists. Results to keep go to bench/results/ (bench/lucid-chain/results.md says what they mean).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { classQualityOf, filterQualityOf, readManifest, type ManifestUnit } from '../../pipeline/output/manifest.ts';
import { SHARED_MODELS } from '../lucid-common.ts';
import { benchMeta } from '../meta.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const options = (name: string) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]!] : a.startsWith(`--${name}=`) ? [a.slice(name.length + 3)] : []));
const json = args.includes('--json');
const trees = [
  { label: 'this', dir: root },
  ...options('tree').map((t) => {
    const [label, dir] = t.split('=');
    if (!label || !dir || !fs.existsSync(path.join(dir, 'pipeline', 'cli.ts'))) throw new Error(`--tree ${t}: expected label=path to a checkout with pipeline/cli.ts`);
    return { label, dir: path.resolve(dir) };
  }),
];
const workers = (options('workers')[0] ?? '1,auto').split(',').map((w) => (w === 'auto' ? 'auto' : Number(w)));
const rounds = Number(options('rounds')[0] ?? '1');
const out = path.resolve(options('out')[0] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lucid-job-')));
fs.mkdirSync(out, { recursive: true });
const TIME = '/usr/bin/time';
const hasTime = fs.existsSync(TIME);

const job = parse(fs.readFileSync(path.join(here, 'job.yaml'), 'utf8')) as Record<string, unknown> & { render: Record<string, unknown> };

/** The checkout's commit, with `-dirty` where tracked files differ from it (the rows measure the working tree). */
const commitOf = (dir: string) => {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
};

const mean = (xs: number[]) => (xs.length ? Math.round((1000 * xs.reduce((a, b) => a + b, 0)) / xs.length) / 1000 : null);

/** The pipeline's quality numbers over the job's units, and each batch's seconds (classes, filters). */
function summary(units: ManifestUnit[]) {
  const classes = units.flatMap((u) => classQualityOf(u) ?? []);
  const filters = units.flatMap((u) => filterQualityOf(u) ?? []);
  const seconds = (kind: string) => units.filter((u) => u.kind === kind).reduce((a, u) => a + u.seconds, 0);
  return {
    filterBatchS: Math.round(seconds('filter') * 10) / 10,
    classBatchS: Math.round(seconds('class') * 10) / 10,
    classes: classes.length,
    classesTop1: classes.filter((q) => q.top1IsTarget).length,
    classesTop5: classes.filter((q) => q.top5HasTarget).length,
    classCopiesTop1: mean(classes.map((q) => q.jitterTop1Rate)),
    filters: filters.length,
    filtersStrictlyTop: filters.filter((q) => q.rank === 0 && q.ties === 0).length,
    filtersInTop3: filters.filter((q) => q.rank < 3).length,
    filtersMeanZ: mean(filters.map((q) => q.z)),
    units: units.length,
    /** Steps each unit ran (its curve has one value per step and the final one). */
    steps: units.map((u) => u.curve.length - 1),
  };
}

const emit = (row: object) => console.log(json ? JSON.stringify(row) : row);
if (json) emit(benchMeta('bench:lucid-job', args));
for (let r = 0; r < rounds; r++)
  for (const w of workers)
    for (const tree of r % 2 ? [...trees].reverse() : trees) {
      const dir = path.join(out, `${tree.label}-w${w}-r${r}`);
      fs.rmSync(dir, { recursive: true, force: true });
      const config = path.join(out, `${tree.label}-w${w}-r${r}.yaml`);
      fs.writeFileSync(config, stringify({ ...job, render: { ...job.render, workers: w }, output: dir }));
      const cli = ['--import', 'tsx', 'pipeline/cli.ts', 'pipeline', '--config', config];
      const cpuFile = path.join(out, 'cpu.txt');
      const [cmd, argv] = hasTime ? [TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...cli]] : [process.execPath, cli];
      const load = os.loadavg()[0]!;
      const t0 = performance.now();
      const run = spawnSync(cmd, argv, { cwd: tree.dir, env: { ...process.env, ATLAS_MODELS: SHARED_MODELS }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      const wallS = Math.round((performance.now() - t0) / 100) / 10;
      if (run.status !== 0) throw new Error(`${tree.label} (workers ${w}) failed with ${run.status}:\n${run.stderr}${run.stdout}`.slice(-4000));
      const cpu = hasTime ? fs.readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number) : undefined;
      const manifest = await readManifest(dir);
      emit({
        kind: 'lucid-job',
        tree: tree.label,
        commit: commitOf(tree.dir),
        workers: w,
        round: r,
        wallS,
        cpuS: cpu ? Math.round((cpu[0]! + cpu[1]!) * 10) / 10 : null,
        loadAtStart: Math.round(load * 100) / 100,
        backend: manifest.backend.name,
        ...summary(manifest.units),
      });
    }
