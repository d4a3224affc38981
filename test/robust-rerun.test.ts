/**
 * Cache and resume: a rerun with nothing changed does no optimization work, writes nothing and
 * says so; a changed setting (class steps, border, filter objective) recomputes only the units it shapes; units dropped from the config
 * leave the manifest (their files stay); --force recomputes everything.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { hashTree, runCli, SMALL_MODEL, temporaries, writeConfig } from './support/robust-run.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-rerun-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
const out = path.join(tmp, 'atlas');
const cfgFile = path.join(tmp, 'atlas.yaml');

const config = (o: { filters?: string; classSteps?: number; border?: number; objective?: string } = {}) => `
model: {id: mobilenet_v1_0.25_224, source: ${SMALL_MODEL}}
layers: {conv_pw_2_relu: ${o.filters ?? '0-3'}}
classes: [141, 967]
render: {size: 64, border: ${o.border ?? 2}, filters: {steps: 3${o.objective ? `, objective: ${o.objective}` : ''}}, classes: {steps: ${o.classSteps ?? 3}}, batch: 4}
output: ${out}
`;

async function run(o: Parameters<typeof config>[0] = {}, extra: string[] = []) {
  await writeConfig(path.dirname(cfgFile), config(o), path.basename(cfgFile));
  const r = await runCli(['pipeline', '--config', cfgFile, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const m = /done: (\d+) computed, (\d+) reused, (\d+) failed/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { stderr: r.stderr, computed: Number(m[1]), reused: Number(m[2]), failed: Number(m[3]) };
}

/** Identity of every file: path → inode and mtime (a rewrite through rename changes both). */
async function identities(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    const st = await fs.stat(abs);
    out.set(path.relative(dir, abs), `${st.ino}@${st.mtimeMs}`);
  }
  return out;
}

const manifest = async (): Promise<Manifest> => JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
const ids = (m: Manifest, kind: 'filter' | 'class') => m.units.filter((u) => u.kind === kind).map((u) => u.index);

test('a rerun with nothing changed does no optimization work, writes nothing and says so', async () => {
  const first = await run();
  assert.deepEqual([first.computed, first.reused, first.failed], [6, 0, 0]);
  const before = await identities(out);
  const bytes = await hashTree(out);

  const again = await run();
  assert.deepEqual([again.computed, again.reused, again.failed], [0, 6, 0]);
  assert.match(again.stderr, /nothing to compute: all 6 units .* are up to date \(no optimization run/);
  assert.doesNotMatch(again.stderr, /\[\d+\/\d+ units\]/, 'no batch ran');
  assert.deepEqual(await identities(out), before, 'no file (not even manifest.json or a contact sheet) was rewritten');
  assert.deepEqual(await hashTree(out), bytes);
});

test('a changed setting recomputes only the units it shapes', async () => {
  const before = await identities(out);
  const filterFiles = [...before.keys()].filter((f) => f.includes('/layers/') && !f.includes('sheet-'));
  const classFiles = [...before.keys()].filter((f) => f.includes('/classes/'));

  // Class steps shape class images only.
  const classSteps = await run({ classSteps: 4 });
  assert.deepEqual([classSteps.computed, classSteps.reused], [2, 4]);
  let now = await identities(out);
  for (const f of filterFiles) assert.equal(now.get(f), before.get(f), `${f} kept`);
  for (const f of classFiles) assert.notEqual(now.get(f), before.get(f), `${f} recomputed`);
  assert.ok((await manifest()).units.filter((u) => u.kind === 'class').every((u) => u.settings.steps === 4));

  // The objective's border shapes filter images only.
  const mid = now;
  const border = await run({ classSteps: 4, border: 1 });
  assert.deepEqual([border.computed, border.reused], [4, 2]);
  now = await identities(out);
  for (const f of classFiles) assert.equal(now.get(f), mid.get(f), `${f} kept`);
  for (const f of filterFiles) assert.notEqual(now.get(f), mid.get(f), `${f} recomputed`);
  // The default objective is not written into the settings (cache keys of earlier atlases stay valid).
  assert.ok((await manifest()).units.every((u) => !('filterObjective' in u.settings)));

  // The filter objective shapes filter images only, and is recorded.
  const channel = now;
  const share = await run({ classSteps: 4, border: 1, objective: 'share' });
  assert.deepEqual([share.computed, share.reused], [4, 2]);
  now = await identities(out);
  for (const f of classFiles) assert.equal(now.get(f), channel.get(f), `${f} kept`);
  for (const f of filterFiles) assert.notEqual(now.get(f), channel.get(f), `${f} recomputed`);
  const filters = (await manifest()).units.filter((u) => u.kind === 'filter');
  assert.ok(filters.every((u) => u.settings.filterObjective === 'share'));
  // A log-share of the layer: below 0, and raised by the ascent.
  for (const u of filters) assert.ok(u.finalObjective < 0 && u.finalObjective > u.startObjective, `${u.key}: ${u.startObjective} → ${u.finalObjective}`);
});

test('units dropped from the config leave the manifest, their files stay; --force recomputes all', async () => {
  const dropped = await run({ classSteps: 4, border: 1, objective: 'share', filters: '0-2' });
  assert.deepEqual([dropped.computed, dropped.reused], [0, 5]);
  const m = await manifest();
  assert.deepEqual(ids(m, 'filter'), [0, 1, 2]);
  assert.deepEqual(m.layers[0]!.filters, [0, 1, 2]);
  assert.deepEqual(
    m.layers[0]!.sheets.lecture!.map((s) => s.filters),
    [[0, 1, 2]],
    'the contact sheet was redone for the new selection',
  );
  await fs.access(path.join(out, 'mobilenet_v1_0.25_224/lecture/layers/conv_pw_2_relu/3.png'));
  for (const u of m.units) for (const f of Object.values(u.files!)) await fs.access(path.join(out, f));

  const before = await identities(out);
  const forced = await run({ classSteps: 4, border: 1, objective: 'share', filters: '0-2' }, ['--force']);
  assert.deepEqual([forced.computed, forced.reused, forced.failed], [5, 0, 0]);
  const now = await identities(out);
  for (const u of (await manifest()).units) for (const f of Object.values(u.files!)) assert.notEqual(now.get(f), before.get(f), `${f} rewritten by --force`);
  assert.deepEqual(await temporaries(out), []);
});
