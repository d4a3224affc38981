/** `npm run bench -- --json --quick`: every line is JSON, step rows have the documented fields. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sharedModel } from './support/engine.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

it(
  'bench --json --quick prints step rows with backend, model, layer, size, batch, stepsPerCall, msPerStep, unitStepsPerSec (onnx-cpu chained beside one step per call)',
  { skip: sharedModel('mobilenet_v1_0.25_224') ? false : 'shared models not found' },
  () => {
    const text = execFileSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', '--json', '--quick', '--no-torch', '--backends', 'wasm,onnx-cpu', '--e2e-backends', 'wasm'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 180_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = rows.filter((r) => r.kind === 'step');
    assert.ok(steps.length >= 2, 'at least two step rows');
    for (const r of steps) {
      assert.equal(typeof r.backend, 'string');
      assert.equal(r.model, 'mobilenet_v1_0.25_224');
      assert.equal(typeof r.layer, 'string');
      assert.ok(Number.isInteger(r.stepsPerCall) && (r.stepsPerCall as number) >= 1, 'stepsPerCall is a positive integer');
      for (const k of ['size', 'batch', 'msPerStep', 'unitStepsPerSec']) assert.ok(typeof r[k] === 'number' && (r[k] as number) > 0, `${k} is a positive number`);
      assert.ok(Math.abs((r.unitStepsPerSec as number) - ((r.batch as number) * 1000) / (r.msPerStep as number)) / (r.unitStepsPerSec as number) < 0.01, 'unitStepsPerSec = batch / msPerStep');
    }
    const onnx = steps.filter((r) => r.backend === 'onnx-cpu');
    if (onnx.length) assert.deepEqual([...new Set(onnx.map((r) => r.stepsPerCall))].sort(), [1, 8], 'onnx-cpu: one step per call and chained');
    const e2e = rows.find((r) => r.kind === 'e2e');
    assert.ok(e2e && (e2e.unitsPerMinute as number) > 0 && e2e.failed === 0, 'an end-to-end row with units per minute');
  },
);
