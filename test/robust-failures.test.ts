/**
 * Failure isolation and hostile names, on a tiny model the test builds: a layer whose activations
 * overflow to Infinity (objective non-finite → those units fail, with the reason), a dead filter
 * before and after its ReLU (flagged, not stepped, still rendered), a unit whose image cannot be
 * written (fails, the run goes on), a path-like layer name and labels with "../", <script>,
 * quotes, slashes and unicode.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { slug, unitFiles } from '../pipeline/output/paths.ts';
import { buildTinyModel, HOSTILE_LABELS, type TinyModel } from './support/robust-models.ts';
import { runCli, temporaries, writeConfig } from './support/robust-run.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-fail-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
const out = path.join(tmp, 'out');
let tiny: TinyModel;
let cfg: string;

before(async () => {
  tiny = await buildTinyModel(path.join(tmp, 'tiny'));
  cfg = await writeConfig(
    tmp,
    `
model: {id: tiny, source: ${tiny.dir}}
layers:
  ${JSON.stringify(tiny.hostileLayer)}: all
  ${JSON.stringify(tiny.hostileConv)}: all
  ${tiny.overflowLayer}: all
classes: [0, 1, 2]
render: {filters: {steps: 3}, classes: {steps: 3}, crop: 2, batch: 4}
output: ${out}
`,
    'atlas.yaml',
  );
  // Class 1's PNG cannot be written: a folder already sits at its path.
  await fs.mkdir(path.join(out, unitFiles('tiny', { kind: 'class', method: 'lecture', index: 1 }).png), { recursive: true });
});

const readManifest = async (): Promise<Manifest> => JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));

test('non-finite objectives and unwritable images fail their units only; the run goes on and exits 1', async () => {
  const r = await runCli(['pipeline', '--config', cfg]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /done: 8 computed, 0 reused, 3 failed \(2 dead filters flagged\)/);
  const m = await readManifest();
  const byKey = new Map(m.units.map((u) => [u.key, u]));
  assert.equal(m.units.length, 11, 'every planned unit is listed, failed ones too');

  for (const i of [0, 1]) {
    const u = byKey.get(`lecture/filter/overflow/${i}`)!;
    assert.equal(u.status, 'failed');
    assert.match(u.error!, /objective became (NaN|Infinity|-Infinity) at step \d+/);
    assert.equal(u.files, undefined);
  }
  const unwritable = byKey.get('lecture/class/1')!;
  assert.equal(unwritable.status, 'failed');
  assert.match(unwritable.error!, /writing its images failed: .*EISDIR/);

  // Filter 1 has no weights and a negative bias: after the ReLU it is 0, before it the constant -1.
  // Neither can move, so neither steps, and both are flagged dead.
  const dead = [`lecture/filter/${tiny.hostileLayer}/1`, `lecture/filter/${tiny.hostileConv}/1`].map((k) => byKey.get(k)!);
  for (const u of dead) {
    assert.equal(u.status, 'ok');
    assert.deepEqual(u.flags, ['dead'], `${u.key}: a dead filter is flagged`);
    assert.ok(u.files, `${u.key}: a dead filter is still rendered and shown`);
    assert.equal(new Set(u.curve).size, 1, `${u.key}: its objective never changes`);
  }
  // Only those are dead (other flags, such as `stalled` on this tiny model, say other things).
  for (const u of m.units.filter((x) => !dead.includes(x))) assert.ok(!u.flags.includes('dead'), `${u.key} flagged dead`);

  for (const u of m.units.filter((x) => x.status === 'ok')) {
    for (const f of Object.values(u.files!)) assert.ok((await fs.stat(path.join(out, f))).size > 0, f);
  }
  assert.deepEqual(await temporaries(out), []);
});

test('hostile layer names and labels give safe file names inside the output folder; labels kept verbatim', async () => {
  const m = await readManifest();
  assert.deepEqual(
    m.classes.map((c) => c.label),
    HOSTILE_LABELS,
  );
  const files = m.units
    .flatMap((u) => Object.values(u.files ?? {}))
    .concat(
      m.layers.flatMap((l) =>
        Object.values(l.sheets)
          .flat()
          .map((s) => s.file),
      ),
    );
  assert.ok(files.length > 0);
  for (const f of files) {
    assert.ok(!path.isAbsolute(f) && !f.split('/').includes('..'), `${f} stays inside the output folder`);
    assert.match(f, /^[A-Za-z0-9._/-]+$/, `${f} is plain ASCII`);
    assert.ok(path.resolve(out, f).startsWith(out + path.sep));
  }
  for (const l of m.layers) assert.match(l.slug, /^[A-Za-z0-9][A-Za-z0-9_-]*$/, l.name);
  // Nothing was written outside the output folder (the layer name tries to climb out of it).
  const around = await fs.readdir(tmp);
  assert.deepEqual(around.sort(), ['atlas.yaml', 'out', 'tiny']);
});

test('slug: any name becomes a distinct, safe path segment', () => {
  const names = [
    '../../etc/passwd',
    '..',
    '.',
    '',
    '<script>alert("x")</script>',
    `quote " ' \` end`,
    'a/b',
    'a\\b',
    'ünïcødé 漢字 🐟',
    '🐟',
    '🐠',
    'CON',
    'x'.repeat(300),
    'x'.repeat(301),
    'conv_pw_1_relu',
    'conv/pw/1',
    'conv-pw-1',
  ];
  const slugs = names.map(slug);
  for (const [i, s] of slugs.entries()) {
    assert.match(s, /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, `${JSON.stringify(names[i])} → ${s}`);
  }
  assert.equal(new Set(slugs).size, names.length, 'no two names share a slug');
  assert.equal(slug('conv_pw_1_relu'), 'conv_pw_1_relu', 'safe names stay readable');
});

test('a rerun retries the failed units and reuses the others', async () => {
  await fs.rm(path.join(out, unitFiles('tiny', { kind: 'class', method: 'lecture', index: 1 }).png), { recursive: true });
  const r = await runCli(['pipeline', '--config', cfg]);
  assert.equal(r.code, 1, 'the overflow layer still fails');
  assert.match(r.stderr, /done: 1 computed, 8 reused, 2 failed/);
  const m = await readManifest();
  assert.equal(m.units.find((u) => u.key === 'lecture/class/1')!.status, 'ok');
});
