/**
 * Shards and merge: where a shard comes from (flag, Slurm, Kubernetes, ATLAS_SHARD_*), a partition
 * that covers every unit once and balances cost; three shards run as three processes with the
 * variables Slurm sets, merged, equal one unsharded run (unit keys, image bytes, contact sheets);
 * a second merge changes nothing; missing units and mismatched shards are refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseShard, shardFromEnv, shardUnits, stepCost } from '../pipeline/shard.ts';
import { M025, sharedGraph } from './support/fixtures.ts';
import { buildSite, builtPages } from './support/atlas-site.ts';
import { hashTree, runCli, writeConfig } from './support/robust-run.ts';
import { imageHashes, readManifest, SCALE_UNITS, scaleConfig } from './support/scale.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-shards-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
const whole = path.join(tmp, 'whole');
const sharded = path.join(tmp, 'sharded');
const cfg = path.join(tmp, 'sharded.yaml');
const shardDirs = [0, 1, 2].map((i) => `${sharded}.shard-${i}-of-3`);

/** What Slurm sets in task i of `sbatch --array=0-2`. */
const slurmEnv = (i: number) => ({
  SLURM_JOB_ID: String(1000 + i),
  SLURM_ARRAY_JOB_ID: '1000',
  SLURM_ARRAY_TASK_ID: String(i),
  SLURM_ARRAY_TASK_COUNT: '3',
  SLURM_ARRAY_TASK_MIN: '0',
  SLURM_ARRAY_TASK_MAX: '2',
  SLURM_ARRAY_TASK_STEP: '1',
});

before(async () => {
  await writeConfig(tmp, scaleConfig(sharded), path.basename(cfg));
  // The unsharded atlas and the three shards, as three processes at once (as an array job would run them).
  const runs = await Promise.all([runCli(['pipeline', '--config', await writeConfig(tmp, scaleConfig(whole), 'whole.yaml')]), ...[0, 1, 2].map((i) => runCli(['pipeline', '--config', cfg], slurmEnv(i)))]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.match(runs[2]!.stderr, /shard 1\/3 from Slurm array \(SLURM_ARRAY_TASK_ID=1/);
});

test('shard sources: --shard, Slurm (with MIN/STEP), Kubernetes, ATLAS_SHARD_* from an Actions matrix', () => {
  assert.deepEqual(parseShard('2/8'), { index: 2, count: 8, source: '--shard' });
  for (const bad of ['8/8', '1', '-1/2', 'a/b', '0/0']) assert.throws(() => parseShard(bad), /expected i\/n/);
  const slurm = shardFromEnv({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '5' });
  assert.deepEqual([slurm?.index, slurm?.count], [3, 5]);
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' }), /must be a range/);
  const k8s = shardFromEnv({ JOB_COMPLETION_INDEX: '4', ATLAS_SHARD_COUNT: '16' });
  assert.deepEqual([k8s?.index, k8s?.count], [4, 16]);
  assert.match(k8s!.source, /^Kubernetes Indexed Job/);
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4' }), /ATLAS_SHARD_COUNT/);
  assert.match(shardFromEnv({ GITHUB_ACTIONS: 'true', ATLAS_SHARD_INDEX: '3', ATLAS_SHARD_COUNT: '20' })!.source, /^GitHub Actions matrix/);
  assert.equal(shardFromEnv({}), undefined);
});

test('the partition covers every unit once, in planned order, each shard within one unit of an equal share of the cost', () => {
  const units = Array.from({ length: 101 }, (_, i) => ({ i, cost: i < 60 ? 1 : 9 }));
  for (const count of [1, 2, 3, 7, 20, 150]) {
    const parts = Array.from({ length: count }, (_, index) => shardUnits(units, (u) => u.cost, { index, count }));
    assert.deepEqual(
      parts.flat().map((u) => u.i),
      units.map((u) => u.i),
    );
    const total = units.reduce((a, u) => a + u.cost, 0);
    for (const p of parts) assert.ok(Math.abs(p.reduce((a, u) => a + u.cost, 0) - total / count) <= 9, `count ${count}`);
  }
});

test('the cost model on the real MobileNet v1 0.25: its published 41 M MACs to the logits, rising with depth, a quarter at half the size', async () => {
  const graph = await sharedGraph(M025, 'cpu');
  try {
    const cost = (layer: string, px = 224) => stepCost(graph, layer, [px, px]);
    const layers = Array.from({ length: 13 }, (_, i) => `conv_pw_${i + 1}_relu`);
    for (let i = 1; i < layers.length; i++) assert.ok(cost(layers[i]!) > cost(layers[i - 1]!), layers[i]);
    const logits = cost(graph.nodes.at(-1)!.name);
    assert.ok(Math.abs(logits / 41e6 - 1) < 0.15, `${logits / 1e6} M MACs`);
    assert.ok(Math.abs(cost('conv_pw_13_relu', 112) / cost('conv_pw_13_relu') - 0.25) < 0.02);
    // A shard of deep-layer units holds fewer units than one of early-layer units.
    const units = [...Array.from({ length: 32 }, () => 'conv_pw_1_relu'), ...Array.from({ length: 32 }, () => 'conv_pw_13_relu')];
    const [early, deep] = [0, 1].map((index) => shardUnits(units, (t) => cost(t), { index, count: 2 }));
    assert.ok(early!.length > 2 * deep!.length, `${early!.length} vs ${deep!.length} units`);
  } finally {
    graph.dispose();
  }
});

test('three Slurm shards merged equal one unsharded run: unit keys, image bytes, contact sheets; a second merge changes nothing', { timeout: 120_000 }, async () => {
  const parts = await Promise.all(shardDirs.map(readManifest));
  assert.deepEqual(
    parts.map((m) => m.units.length).reduce((a, b) => a + b),
    SCALE_UNITS,
  );
  const into = path.join(tmp, 'merged');
  const r = await runCli(['merge', ...shardDirs, '--into', into]);
  assert.equal(r.code, 0, r.stderr);
  const [a, b] = await Promise.all([readManifest(whole), readManifest(into)]);
  assert.deepEqual(
    b.units.map((u) => [u.key, u.cacheKey]),
    a.units.map((u) => [u.key, u.cacheKey]),
  );
  assert.deepEqual(b.layers, a.layers);
  assert.deepEqual(await imageHashes(into), await imageHashes(whole));
  const before = await hashTree(into);
  const again = await runCli(['merge', ...shardDirs, '--into', into]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 copied/);
  assert.deepEqual(await hashTree(into), before);
});

test('missing units are named and refused; --allow-partial writes the atlas with them marked failed', { timeout: 60_000 }, async () => {
  const into = path.join(tmp, 'partial');
  const r = await runCli(['merge', shardDirs[0]!, shardDirs[2]!, '--into', into]);
  assert.equal(r.code, 1);
  const missing = (await readManifest(shardDirs[1]!)).units.map((u) => u.key);
  for (const key of missing) assert.ok(r.stderr.includes(key), `${key} named`);
  assert.match(r.stderr, /no folder given for shard 1\/3/);
  await assert.rejects(fs.access(path.join(into, 'manifest.json')), 'nothing written');
  const partial = await runCli(['merge', shardDirs[0]!, shardDirs[2]!, '--into', into, '--allow-partial']);
  assert.equal(partial.code, 0, partial.stderr);
  const m = await readManifest(into);
  assert.deepEqual(
    m.units.filter((u) => u.status === 'failed').map((u) => u.key),
    missing,
  );
  // The repair: merging again with the missing shard completes the atlas.
  assert.equal((await runCli(['merge', ...shardDirs, '--into', into])).code, 0);
  assert.ok((await readManifest(into)).units.every((u) => u.status === 'ok'));
});

test('a shard of another config is refused (exit 2), naming the shard and the difference', { timeout: 60_000 }, async () => {
  const other = path.join(tmp, 'other');
  const otherCfg = await writeConfig(tmp, scaleConfig(other).replace('seed: 7', 'seed: 8'), 'other.yaml');
  const run = await runCli(['pipeline', '--config', otherCfg, '--shard', '1/3', '--output', path.join(tmp, 'other-1')]);
  assert.equal(run.code, 0, run.stderr);
  const r = await runCli(['merge', shardDirs[0]!, path.join(tmp, 'other-1'), shardDirs[2]!, '--into', path.join(tmp, 'mixed')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`shard ${path.join(tmp, 'other-1').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: config hash \\w+ differs`));
  const plain = await runCli(['merge', whole, '--into', path.join(tmp, 'mixed')]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /no shard\.json: not the output folder of a sharded run/);
});

/** Site-local links and images of every built page that name no file of the build. */
async function brokenLinks(dist: string): Promise<{ checked: number; broken: string[] }> {
  const broken: string[] = [];
  let checked = 0;
  for (const page of await builtPages(dist)) {
    const file = path.join(dist, page.endsWith('/') || page === '' ? `${page}index.html` : page);
    for (const m of (await fs.readFile(file, 'utf8')).matchAll(/\s(?:src|href)="(\/[^/"][^"]*|\/)"/g)) {
      const target = decodeURI(m[1]!.replace(/&amp;/g, '&').replace(/[?#].*$/, ''));
      const on = path.join(dist, target.endsWith('/') ? `${target}index.html` : target);
      checked++;
      if (!(await fs.stat(on).catch(() => undefined))?.isFile()) broken.push(`${page || '/'} → ${m[1]}`);
    }
  }
  return { checked, broken };
}

test('the merged atlas builds the same site pages as the unsharded one, with no broken link', { timeout: 300_000 }, async () => {
  const into = path.join(tmp, 'merged-for-site');
  assert.equal((await runCli(['merge', ...shardDirs, '--into', into])).code, 0);
  // One build at a time: astro builds share the checkout's .astro folder.
  const sites: string[] = [];
  for (const [name, output] of [
    ['whole', whole],
    ['merged', into],
  ] as const) {
    sites.push(path.join(tmp, `dist-${name}`));
    await buildSite(await writeConfig(tmp, scaleConfig(output), `site-${name}.yaml`), sites.at(-1)!);
  }
  assert.deepEqual(await builtPages(sites[1]!), await builtPages(sites[0]!));
  const links = await brokenLinks(sites[1]!);
  assert.deepEqual(links.broken, []);
  // Every unit page links its images and downloads: far more links than pages.
  assert.ok(links.checked > 10 * SCALE_UNITS, `${links.checked} links checked`);
});
