/**
 * The output lock (a second run on the same folder names the first's pid and exits 3; a lock left
 * by a dead process, or by a pid that now belongs to another process, is taken over) and Ctrl-C
 * (the first stops after the current batch and exits 130 with everything finished kept; a second
 * exits at once, leaving no temporary file and no lock).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { runCli, SMALL_MODEL, spawnCli, temporaries, writeConfig } from './support/robust-run.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-lock-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

const TOTAL = 40;
const config = (out: string, filterSteps: number) => `
model: {id: mobilenet_v1_0.25_224, source: ${SMALL_MODEL}}
layers: {conv_pw_1_relu: 0-15, conv_pw_3_relu: 0-15}
classes: [141, 1, 967, 980, 2, 3, 4, 5]
render: {size: 64, filters: {steps: ${filterSteps}}, classes: {steps: 3}, batch: 2}
output: ${out}
`;
const BATCH_LINES = (n: number) => ({ test: (s: string) => (s.match(/^\[\d+\/\d+ units\]/gm) ?? []).length >= n }) as unknown as RegExp;

async function setup(name: string, filterSteps = 6): Promise<{ out: string; cfg: string }> {
  const out = path.join(tmp, name);
  return { out, cfg: await writeConfig(tmp, config(out, filterSteps), `${name}.yaml`) };
}

/** The manifest parses and every file it names is complete. Returns it. */
async function consistent(out: string): Promise<Manifest> {
  const m = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
  for (const u of m.units) {
    assert.equal(u.status, 'ok');
    for (const f of Object.values(u.files!)) {
      if (f.endsWith('.zip')) assert.equal(Object.keys(unzipSync(new Uint8Array(await fs.readFile(path.join(out, f))))).length, u.frames);
      else await sharp(path.join(out, f), { animated: true }).raw().toBuffer();
    }
  }
  for (const s of m.layers.flatMap((l) => Object.values(l.sheets).flat())) await sharp(path.join(out, s.file)).raw().toBuffer();
  return m;
}

const lockFile = (out: string) => path.join(out, '.atlas.lock');
const procStart = (pid: number) => {
  const stat = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

test('a second run on a locked output folder names the holder and exits 3; the first finishes', async () => {
  const { out, cfg } = await setup('locked');
  const first = spawnCli(['pipeline', '--config', cfg]);
  assert.ok(await first.waitFor(/units: \d+ to compute/), first.stderr());
  // Freeze the first run while it holds the lock: the second meets it whatever the machine's speed.
  first.child.kill('SIGSTOP');
  try {
    const second = await runCli(['pipeline', '--config', cfg]);
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stderr, new RegExp(`error: output folder .*locked is in use by another run: pid ${first.child.pid} on `));
    const holder = JSON.parse(await fs.readFile(lockFile(out), 'utf8'));
    assert.equal(holder.pid, first.child.pid, 'the lock is still the first run’s');
  } finally {
    first.child.kill('SIGCONT');
  }
  const r = await first.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`done: ${TOTAL} computed, 0 reused, 0 failed`));
  await assert.rejects(fs.access(lockFile(out)), 'released at the end');
});

test('a stale lock is taken over: dead pid, reused pid, unreadable lock', async () => {
  const { out, cfg } = await setup('stale');
  await fs.mkdir(out, { recursive: true });
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  const host = os.hostname();
  const stale = [
    { pid: gone, host, started: '2020-01-01T00:00:00.000Z', token: 'dead' },
    // A live pid (this test) whose start time does not match: the pid was reused.
    { pid: process.pid, host, started: '2020-01-01T00:00:00.000Z', procStart: '1', token: 'reused' },
  ];
  for (const lock of stale) {
    await fs.writeFile(lockFile(out), JSON.stringify(lock));
    const r = await runCli(['pipeline', '--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`took over the lock of pid ${lock.pid} \\(no longer running\\)`));
    await assert.rejects(fs.access(lockFile(out)));
  }
  await fs.writeFile(lockFile(out), 'garbage');
  const r = await runCli(['pipeline', '--config', cfg]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nothing to compute/);

  // …but a lock of a live process with the right start time is respected.
  await fs.writeFile(lockFile(out), JSON.stringify({ pid: process.pid, host, started: new Date().toISOString(), procStart: procStart(process.pid), token: 'live' }));
  const held = await runCli(['pipeline', '--config', cfg]);
  assert.equal(held.code, 3, held.stderr);
  assert.match(held.stderr, new RegExp(`in use by another run: pid ${process.pid} on ${host}`));
  await fs.rm(lockFile(out));
});

test('Ctrl-C: stops after the current batch, keeps every finished unit, exits 130; a rerun continues', async () => {
  const { out, cfg } = await setup('interrupted');
  const run = spawnCli(['pipeline', '--config', cfg]);
  assert.ok(await run.waitFor(BATCH_LINES(3)), run.stderr());
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.signal, null, 'an orderly exit, not a death by signal');
  assert.match(r.stderr, /SIGINT: stopping after the current batch/);
  const s = /interrupted: (\d+) computed, 0 reused, 0 failed[^,]*, (\d+) left/.exec(r.stderr);
  assert.ok(s, r.stderr);
  const kept = Number(s[1]);
  assert.ok(kept >= 6 && kept < TOTAL, `kept ${kept}`);
  assert.equal(kept + Number(s[2]), TOTAL);
  const m = await consistent(out);
  assert.equal(m.units.length, kept, 'everything finished is in the manifest');
  assert.deepEqual(await temporaries(out), []);
  await assert.rejects(fs.access(lockFile(out)));

  const rerun = await runCli(['pipeline', '--config', cfg]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, new RegExp(`done: ${TOTAL - kept} computed, ${kept} reused, 0 failed`));
});

/** After an immediate exit: a consistent manifest (if any), no temporary file, no lock. */
async function leftClean(out: string): Promise<void> {
  if (
    await fs.access(path.join(out, 'manifest.json')).then(
      () => true,
      () => false,
    )
  )
    assert.ok((await consistent(out)).units.length < TOTAL);
  assert.deepEqual(await temporaries(out), []);
  await assert.rejects(fs.access(lockFile(out)));
}

test('a second signal exits at once with 128 + the first signal, leaving no partial or temporary file and no lock', async () => {
  // Two SIGINTs sent back to back merge into one in the kernel (signals do not queue), so the
  // second here is a SIGTERM, which the pipeline treats like Ctrl-C: both arrive together.
  const { out, cfg } = await setup('twice');
  const run = spawnCli(['pipeline', '--config', cfg]);
  assert.ok(await run.waitFor(BATCH_LINES(2)), run.stderr());
  run.child.kill('SIGINT');
  run.child.kill('SIGTERM');
  const r = await run.done;
  // Node may handle the two pending signals in either order; the exit code is 128 + the first one.
  const first = /SIGINT after SIGTERM/.test(r.stderr) ? 143 : 130;
  assert.equal(r.code, first, r.stderr);
  assert.equal(r.signal, null);
  assert.match(r.stderr, /(SIGTERM after SIGINT|SIGINT after SIGTERM): stopping now/);
  assert.doesNotMatch(r.stderr, /interrupted: |done: /, 'it did not wind down the run');
  await leftClean(out);
});

test('Ctrl-C, then Ctrl-C again during the batch: stops at once, 130 and a clean folder', async () => {
  // Long batches (200 steps), so the second Ctrl-C lands while the first still waits for its batch.
  const { out, cfg } = await setup('twice-sigint', 200);
  const run = spawnCli(['pipeline', '--config', cfg]);
  assert.ok(await run.waitFor(BATCH_LINES(1)), run.stderr());
  run.child.kill('SIGINT');
  assert.ok(await run.waitFor('stopping after the current batch'), run.stderr());
  // Later than the window in which the same signal counts as an echo of the first (interrupt.ts).
  await new Promise((resolve) => setTimeout(resolve, 300));
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGINT again: stopping now/);
  assert.doesNotMatch(r.stderr, /interrupted: /, 'it did not wait for the batch');
  await leftClean(out);
});
