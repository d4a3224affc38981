import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKEND_NAMES, CANDIDATES, selectBackend, type BackendCandidate } from '../pipeline/engine/backend.ts';

test('candidates are tried in the documented order', () => {
  assert.deepEqual(
    CANDIDATES.map((c) => c.name),
    ['tensorflow-gpu', 'tensorflow', 'onnx-cuda', 'onnx-directml', 'onnx-coreml', 'webgpu', 'onnx-cpu', 'wasm', 'cpu'],
  );
  assert.deepEqual([...BACKEND_NAMES], CANDIDATES.map((c) => c.name));
});

test('auto skips candidates that fail to load, with the reason, and activates the next', async () => {
  const failing = (name: BackendCandidate['name'], message: string): BackendCandidate => ({
    name,
    tfName: name === 'tensorflow-gpu' ? 'tensorflow' : name,
    load: async () => {
      throw new Error(message);
    },
  });
  const cpu = CANDIDATES.find((c) => c.name === 'cpu')!;
  const chosen = await selectBackend('auto', [failing('tensorflow-gpu', 'no CUDA'), failing('tensorflow', 'no libtensorflow'), cpu]);
  assert.equal(chosen.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(chosen.skipped, [
    { name: 'tensorflow-gpu', reason: 'no CUDA' },
    { name: 'tensorflow', reason: 'no libtensorflow' },
  ]);
});

test('a candidate that loads but registers no backend is skipped', async () => {
  const ghost: BackendCandidate = { name: 'webgpu', tfName: 'no-such-backend', load: async () => {} };
  const cpu = CANDIDATES.find((c) => c.name === 'cpu')!;
  const chosen = await selectBackend('auto', [ghost, cpu]);
  assert.equal(chosen.name, 'cpu');
  assert.match(chosen.skipped[0]!.reason, /registered no "no-such-backend" backend/);
});

test('forcing a backend that cannot start is an error naming it', async () => {
  const broken: BackendCandidate = { name: 'tensorflow', tfName: 'tensorflow', load: async () => Promise.reject(new Error('binding missing')) };
  await assert.rejects(selectBackend('tensorflow', [broken]), /backend "tensorflow" is not available here: binding missing/);
});

test('on this machine auto runs the first real candidate that loads, and says why faster ones were skipped', async () => {
  const chosen = await selectBackend('auto');
  assert.equal(tf.getBackend(), CANDIDATES.find((c) => c.name === chosen.name)!.tfName);
  const order = CANDIDATES.map((c) => c.name);
  // Everything before the chosen one was tried and skipped with a reason.
  assert.deepEqual(
    chosen.skipped.map((s) => s.name),
    order.slice(0, order.indexOf(chosen.name)),
  );
  for (const s of chosen.skipped) assert.ok(s.reason.length > 0);
  // A real computation runs on it.
  const y = await tf.add(tf.tensor1d([1, 2]), 1).data();
  assert.deepEqual([...y], [2, 3]);
});
