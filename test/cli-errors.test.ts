/**
 * Bad input from issue 2's list: a clear message naming the value, exit code 2, nothing written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { M025, MODELS, runCli, tempDir, writeConfig } from './support/fixtures.ts';

async function expectBadInput(body: string, message: RegExp): Promise<void> {
  const dir = await tempDir();
  const config = await writeConfig(dir, `${body}\noutput: data\n`);
  const run = await runCli(['pipeline', '--config', config, '--quiet']);
  assert.equal(run.code, 2, `exit code ${run.code}; stderr: ${run.stderr}`);
  assert.match(run.stderr, message);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace for bad input');
  await assert.rejects(fs.access(path.join(dir, 'data', 'manifest.json')), 'no manifest written');
}

const model = `model:\n  id: m\n  source: ${path.join(MODELS, M025)}`;

test('unknown layer: names it and lists close layer names', async () => {
  await expectBadInput(`${model}\nlayers:\n  conv_pw_3_rleu: all`, /layers\.conv_pw_3_rleu: the model has no layer "conv_pw_3_rleu".*closest: conv_pw_3_relu/);
});

test('filter index out of range: names it and the layer filter count', async () => {
  await expectBadInput(`${model}\nlayers:\n  conv_pw_1_relu: [3, 16]`, /layers\.conv_pw_1_relu: filter 16 is out of range: the layer has 16 filters, expected 0-15/);
});

test('unknown class name: names it and lists close labels', async () => {
  await expectBadInput(`${model}\nclasses: [goldfsh]`, /no class named "goldfsh".*closest: "goldfish, Carassius auratus"/);
});

test('missing model file: names the path', async () => {
  await expectBadInput(`model:\n  id: m\n  source: ./no-such-model`, /model\.source: no model at "\.\/no-such-model"/);
});

test('missing weight shard: names the shard', async () => {
  const dir = await tempDir();
  const src = path.join(MODELS, M025);
  const copy = path.join(dir, 'model');
  await fs.mkdir(copy);
  for (const f of await fs.readdir(src)) await fs.copyFile(path.join(src, f), path.join(copy, f));
  await fs.rm(path.join(copy, 'mobilenet_group5-shard1of1'));
  await expectBadInput(`model:\n  id: m\n  source: ${copy}`, /weight file "mobilenet_group5-shard1of1" is missing/);
});

test('unknown CLI flag and unknown command exit 2 with usage', async () => {
  const bad = await runCli(['pipeline', '--confg', 'x.yaml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--confg/);
  const none = await runCli(['deploy']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage: filter-atlas/);
});
