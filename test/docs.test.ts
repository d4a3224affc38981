/**
 * The docs: docs/config.md and docs/performance.md's tables are what their sources generate
 * (`npm run docs`), a schema change changes the reference, every relative link and anchor of the
 * README, docs/ and ARCHITECTURE.md resolves (remark-validate-links) and a broken one fails the
 * check, and every command's --help names a docs page that exists.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { benchMeta } from '../bench/meta.ts';
import { readResults, renderBenchTables } from '../bench/results-tables.ts';
import { MOVED_KEYS } from '../pipeline/config/legacy.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { configReference } from '../scripts/config-reference.ts';
import { generatedDocs } from '../scripts/docs.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const REMARK = path.join(ROOT, 'node_modules', '.bin', 'remark');
const example = { file: 'atlas.config.yaml', text: 'model: { id: m, source: m.keras }\n' };

/** The link check as `npm run docs:check` runs it, on the given paths; exit code and report. */
async function checkLinks(cwd: string, paths: string[]): Promise<{ code: number; report: string }> {
  try {
    const { stderr } = await run(REMARK, [...paths, '--rc-path', path.join(ROOT, '.remarkrc.json'), '--frail', '--quiet', '--no-stdout', '--no-color'], { cwd });
    return { code: 0, report: stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, report: e.stderr };
  }
}

it('docs/config.md and the tables of docs/performance.md are what `npm run docs` writes from their sources', () => {
  for (const { file, text } of generatedDocs()) {
    assert.equal(fs.readFileSync(file, 'utf8'), text, `${path.relative(ROOT, file)} differs from its sources: run npm run docs`);
  }
});

it('the config reference lists every key with its type, default and description, and every moved key with its new name', () => {
  const { markdown, undocumented } = configReference({ schema: configSchema, moved: MOVED_KEYS, example });
  assert.deepEqual(undocumented, [], `config keys without a .describe() text (write one for the user in the schema, then npm run docs): ${undocumented.join(', ')}`);
  assert.match(markdown, /\| `steps` \| integer > 0 \| `512` \| Adam steps\. \|/);
  assert.match(markdown, /\| `l2` \| number ≥ 0 \| `1e-6` \|/);
  assert.match(markdown, /\| `id` \| string \| required \|/);
  assert.match(markdown, /\| `pixels` \| block: \[`model\.pixels`\]\(#modelpixels\) \|/);
  for (const [from, to] of MOVED_KEYS) assert.ok(markdown.includes(`| \`${from.join('.')}\` | \`${to.join('.')}\` |`), from.join('.'));
  assert.ok(markdown.includes(example.text.trim()), 'the example config is shown as it is');
});

it('no user-facing page (README, docs/) talks about load averages, issue numbers or "last stop"', () => {
  const pages = [
    'README.md',
    ...fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  for (const page of pages) {
    const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
    for (const banned of [/load average/i, /\bissue \d+/i, /\bissues? #\d+/i, /last stop/i]) assert.doesNotMatch(text, banned, `${page} mentions ${banned}`);
  }
});

it('a changed schema changes the reference: a new key, a new default, a key without a description', () => {
  const base = configReference({ schema: configSchema, moved: MOVED_KEYS, example }).markdown;
  const added = configSchema.extend({ notes: z.number().int().min(1).default(3).describe('A key added to the schema.'), bare: z.boolean().optional() });
  const changed = configReference({ schema: added, moved: MOVED_KEYS, example });
  assert.notEqual(changed.markdown, base);
  assert.match(changed.markdown, /\| `notes` \| integer ≥ 1 \| `3` \| A key added to the schema\. \|/);
  assert.match(changed.markdown, /\| `bare` \| boolean \| unset \| — \|/);
  assert.deepEqual(changed.undocumented, ['bare']);
  const redefaulted = configSchema.extend({ output: z.string().min(1).default('elsewhere').describe('Where it goes.') });
  assert.match(configReference({ schema: redefaulted, moved: MOVED_KEYS, example }).markdown, /\| `output` \| string \| `elsewhere` \| Where it goes\. \|/);
});

it('every relative link and anchor in README.md, docs/ and ARCHITECTURE.md resolves', async () => {
  const { code, report } = await checkLinks(ROOT, ['README.md', 'ARCHITECTURE.md', 'docs']);
  assert.equal(code, 0, report);
});

it('the link check fails on a missing file, a missing heading and a missing heading in another file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-links-'));
  try {
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.writeFileSync(path.join(dir, 'docs', 'b.md'), '# B\n\n## Stable URLs\n');
    fs.writeFileSync(path.join(dir, 'README.md'), '# A\n\n## Quick start\n\n[b](docs/b.md#stable-urls) · [here](#quick-start)\n');
    const good = await checkLinks(dir, ['README.md', 'docs']);
    assert.equal(good.code, 0, good.report);
    fs.appendFileSync(path.join(dir, 'README.md'), '\n[gone](docs/gone.md) · [nowhere](#no-such-heading) · [elsewhere](docs/b.md#no-such-anchor)\n');
    const bad = await checkLinks(dir, ['README.md', 'docs']);
    assert.equal(bad.code, 1);
    assert.match(bad.report, /docs\/gone\.md/);
    assert.match(bad.report, /no-such-heading/);
    assert.match(bad.report, /no-such-anchor/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("bench tables are rendered from the results' rows, with the date, machine and command of their meta row", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-results-'));
  try {
    const meta = { ...benchMeta('bench', ['--json', '--backends', 'wasm', '--note', 'a quiet machine']), date: '2026-01-02T03:04:05Z' };
    assert.equal(meta.command, 'npm run bench -- --json --backends wasm');
    assert.equal(meta.note, 'a quiet machine');
    const step = (batch: number, stepsPerCall?: number) => ({
      kind: 'step',
      backend: 'wasm',
      model: 'm',
      layer: 'l',
      size: 224,
      batch,
      ...(stepsPerCall ? { stepsPerCall } : {}),
      msPerStep: 40 * batch + (stepsPerCall ?? 1),
      unitStepsPerSec: 7 * batch,
    });
    const job = {
      kind: 'lucid-job',
      tree: 'this',
      commit: 'abc1234',
      workers: 1,
      round: 0,
      wallS: 96.2,
      cpuS: 179.5,
      filterBatchS: 38.1,
      classBatchS: 46.9,
      classes: 4,
      classesTop1: 4,
      classCopiesTop1: 1,
      filters: 4,
      filtersStrictlyTop: 3,
      filtersMeanZ: 3.321,
    };
    const rows = [meta, step(1), step(2), step(1, 8), step(2, 8), job];
    fs.writeFileSync(path.join(dir, 'run.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const page = 'Intro.\n\n<!-- bench-table: steps run.jsonl -->\nstale\n<!-- /bench-table -->\n\nOutro.\n';
    const out = renderBenchTables(page, readResults(dir));
    assert.match(out, /\| wasm \| m \| `l` \| 224 \| 1 \| 1 \/ 2 \| 41 \/ 81 \| 7 \/ 14 \|/, 'rows without stepsPerCall are one step per call');
    assert.match(out, /\| wasm \| m \| `l` \| 224 \| 8 \| 1 \/ 2 \| 48 \/ 88 \| 7 \/ 14 \|/, 'chained rows get their own line');
    const jobTable = renderBenchTables('<!-- bench-table: lucid-job run.jsonl -->\n<!-- /bench-table -->', readResults(dir));
    assert.match(jobTable, /\| this \(abc1234\) \| 1 \| 0 \| 96\.2 \| 179\.5 \| 38\.1 \| 46\.9 \| 4\/4 \| 1 \| 3\/4 \| 3\.321 \|/);
    assert.match(out, /Measured 2026-01-02 on \d+ CPUs .* with `npm run bench -- --json --backends wasm`; data: \[run\.jsonl\]\(\.\.\/bench\/results\/run\.jsonl\)\./);
    assert.ok(!out.includes('stale') && out.startsWith('Intro.') && out.endsWith('Outro.\n'));
    assert.equal(renderBenchTables(out, readResults(dir)), out, 'rendering is idempotent');
    assert.throws(() => renderBenchTables(page.replace('steps', 'speed'), readResults(dir)), /unknown kind "speed"/);
    assert.throws(() => renderBenchTables(page.replace('run.jsonl', 'none.jsonl'), readResults(dir)), /none\.jsonl not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('--help of every command names a docs page that exists', async () => {
  const commands = [
    ['pipeline/cli.ts', 'build', '--help'],
    ['pipeline/cli.ts', 'merge', '--help'],
    ['bench/cli.ts', '--help'],
    ['bench/quality.ts', '--help'],
    ['bench/media.ts', '--help'],
    ['scripts/docs.ts', '--help'],
  ];
  for (const [script, ...args] of commands) {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script!, ...args], { cwd: ROOT, timeout: 120_000 });
    const pages = [...(stdout + stderr).matchAll(/\b(?:docs|bench)\/[\w-]+\.md\b/g)].map((m) => m[0]);
    assert.ok(pages.length > 0, `${script} ${args.join(' ')} names no docs page`);
    for (const page of pages) assert.ok(fs.existsSync(path.join(ROOT, page)), `${script} names ${page}, which does not exist`);
  }
});
