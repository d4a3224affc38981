/**
 * Worker processes (render.workers): two workers give the same atlas as one, byte for byte; a
 * worker killed with SIGKILL fails only its batch's units and the rerun completes them (one killed
 * while it starts is started once more); the parent
 * killed with SIGKILL takes its workers down and the rerun completes with nothing corrupt.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuLimit, physicalCores } from '../pipeline/engine/cores.ts';
import { workerCount } from '../pipeline/run/workers.ts';
import { runCli, spawnCli, temporaries, writeConfig } from './support/robust-run.ts';
import { alive, imageHashes, readManifest, SCALE_UNITS, scaleConfig, unitsOf, workerPids } from './support/scale.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-workers-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
const refDir = path.join(tmp, 'one');

before(async () => {
  const r = await runCli(['pipeline', '--workers', '1', '--config', await writeConfig(tmp, scaleConfig(refDir), 'one.yaml')]);
  assert.equal(r.code, 0, r.stderr);
});

/** Everything but timings and GIF palettes equals the one-worker atlas. */
async function assertSameAsOneWorker(dir: string): Promise<void> {
  assert.deepEqual(unitsOf(await readManifest(dir)), unitsOf(await readManifest(refDir)));
  assert.deepEqual(await imageHashes(dir), await imageHashes(refDir));
  assert.deepEqual(await temporaries(dir), [], 'no temporary file is left');
}

test('auto: one worker per physical core on wasm/cpu, one on backends that use every core or a GPU', () => {
  const cpuinfo = ['physical id\t: 0\ncore id\t: 0', 'physical id\t: 0\ncore id\t: 0', 'physical id\t: 0\ncore id\t: 1'].join('\n\n');
  assert.equal(physicalCores(cpuinfo, undefined), Math.min(2, os.availableParallelism()));
  // A container limited to 1.5 CPUs (cgroup v2 cpu.max; v1 quota/period) gets 2 workers at most, 1 CPU gets 1.
  assert.equal(cpuLimit('150000 100000\n'), 2);
  assert.equal(cpuLimit('max 100000\n'), undefined);
  assert.equal(cpuLimit(undefined, ['100000\n', '100000\n']), 1);
  assert.equal(cpuLimit(undefined, ['-1\n', '100000\n']), undefined);
  assert.equal(physicalCores(cpuinfo, 1), 1);
  assert.equal(workerCount('auto', 'tensorflow-gpu'), 1);
  assert.equal(workerCount('auto', 'webgpu'), 1);
  // ONNX Runtime on a GPU: one process, not one per core each opening a session on the same device.
  for (const gpu of ['onnx-cuda', 'onnx-webgpu', 'onnx-directml', 'onnx-coreml'] as const) assert.equal(workerCount('auto', gpu), 1, gpu);
  assert.equal(workerCount('auto', 'onnx-cpu'), physicalCores());
  assert.equal(workerCount('auto', 'wasm'), physicalCores());
  assert.equal(workerCount(3, 'wasm'), 3);
});

test('two workers: the same manifest entries and image bytes as one', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'two');
  const r = await runCli(['pipeline', '--workers', '2', '--config', await writeConfig(tmp, scaleConfig(dir), 'two.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /workers: 2 processes/);
  assert.match(r.stderr, new RegExp(`done: ${SCALE_UNITS} computed, 0 reused, 0 failed`));
  await assertSameAsOneWorker(dir);
});

test('a worker killed with SIGKILL fails its batch only; the rerun completes it', { timeout: 180_000 }, async (t) => {
  const dir = path.join(tmp, 'worker-killed');
  const cfg = await writeConfig(tmp, scaleConfig(dir), 'worker-killed.yaml');
  const run = spawnCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.ok(await run.waitFor(/^\[\d+\/\d+ units\]/m), run.stderr());
  const [victim] = await workerPids(run.child.pid!);
  assert.ok(victim, 'a worker process runs');
  process.kill(victim, 'SIGKILL');
  const r = await run.done;
  // The run goes on without it: every other unit rendered; exit 1 for the failed units.
  const units = (await readManifest(dir)).units;
  const failed = units.filter((u) => u.status === 'failed');
  assert.equal(units.length, SCALE_UNITS);
  // Killed while rendering (nearly always: a worker waits only between a result and its next batch): its batch of 2 failed.
  if (failed.length) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`worker process ${victim} died \\(signal SIGKILL\\)`));
  } else t.diagnostic('the worker was killed between batches: it was replaced, nothing failed');
  assert.ok(failed.length <= 2, `${failed.length} failed: at most the killed worker's batch`);
  const again = await runCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`done: ${failed.length} computed, ${SCALE_UNITS - failed.length} reused, 0 failed`));
  await assertSameAsOneWorker(dir);
});

test('a worker killed while it starts is started once more: the run completes, nothing failed', { timeout: 180_000 }, async () => {
  const dir = path.join(tmp, 'killed-starting');
  const run = spawnCli(['pipeline', '--workers', '2', '--config', await writeConfig(tmp, scaleConfig(dir), 'killed-starting.yaml')]);
  assert.ok(await run.waitFor(/workers: 2 processes/), run.stderr());
  // Forked a moment ago: loading TF.js and the model takes it well over a second.
  let victim: number | undefined;
  for (let i = 0; i < 200 && !victim; i++) {
    [victim] = await workerPids(run.child.pid!);
    if (!victim) await sleep(10);
  }
  assert.ok(victim, 'a worker process starts');
  process.kill(victim, 'SIGKILL');
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`worker process ${victim} was killed while starting \\(signal SIGKILL\\): starting another`));
  assert.match(r.stderr, new RegExp(`done: ${SCALE_UNITS} computed, 0 reused, 0 failed`));
  await assertSameAsOneWorker(dir);
});

test('the parent killed with SIGKILL: its workers end, the rerun completes with nothing corrupt', { timeout: 180_000 }, async () => {
  const dir = path.join(tmp, 'parent-killed');
  const cfg = await writeConfig(tmp, scaleConfig(dir), 'parent-killed.yaml');
  const run = spawnCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.ok(await run.waitFor(/^\[[2-9]\/\d+ units\]/m), run.stderr());
  const workers = await workerPids(run.child.pid!);
  assert.ok(workers.length > 0, 'workers were running');
  run.child.kill('SIGKILL');
  await run.done;
  // A worker notices the lost parent at its next step; no fixed time is asserted, only that it ends.
  for (const pid of workers) while (await alive(pid)) await sleep(100);
  const listed = (await readManifest(dir)).units;
  assert.ok(listed.every((u) => u.status === 'ok'));
  const again = await runCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /took over the lock of pid/);
  assert.match(again.stderr, new RegExp(`done: ${SCALE_UNITS - listed.length} computed, ${listed.length} reused, 0 failed`));
  await assertSameAsOneWorker(dir);
});

test('Ctrl-C under workers: the batches in flight are finished and kept, exit 130; the rerun completes', { timeout: 180_000 }, async () => {
  const dir = path.join(tmp, 'interrupted');
  const cfg = await writeConfig(tmp, scaleConfig(dir), 'interrupted.yaml');
  const run = spawnCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.ok(await run.waitFor(/^\[\d+\/\d+ units\]/m), run.stderr());
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  const listed = (await readManifest(dir)).units;
  assert.match(r.stderr, new RegExp(`interrupted: ${listed.length} computed, 0 reused, 0 failed( \\(\\d+ dead filters? flagged\\))?, ${SCALE_UNITS - listed.length} left`));
  assert.ok(listed.length < SCALE_UNITS && listed.every((u) => u.status === 'ok'));
  const again = await runCli(['pipeline', '--workers', '2', '--config', cfg]);
  assert.equal(again.code, 0, again.stderr);
  await assertSameAsOneWorker(dir);
});
