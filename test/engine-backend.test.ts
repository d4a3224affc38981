/** Backend selection (order, skipping with reasons, forcing, the real choice here) and the batch-size choice (logic only; real timings are the bench's). */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchCandidates, chooseBatch } from '../pipeline/engine/batch-size.ts';
import { BACKEND_NAMES, CANDIDATES, selectBackend, type BackendCandidate } from '../pipeline/engine/backend.ts';
import { adapterName, isSoftwareAdapter } from '../pipeline/engine/webgpu.ts';

const fake = (name: BackendCandidate['name'], ok: boolean, calls: string[], reason = 'nope'): BackendCandidate => ({
  name,
  tfName: 'cpu',
  async load(forced) {
    calls.push(`${name}${forced ? '!' : ''}`);
    if (!ok) throw new Error(reason);
  },
});

describe('backend selection', () => {
  it('the default order is tensorflow-gpu → tensorflow → onnx GPU providers → onnx-webgpu → webgpu → onnx-cpu → wasm → cpu', () => {
    assert.deepEqual(
      CANDIDATES.map((c) => c.name),
      ['tensorflow-gpu', 'tensorflow', 'onnx-cuda', 'onnx-directml', 'onnx-coreml', 'onnx-webgpu', 'webgpu', 'onnx-cpu', 'wasm', 'cpu'],
    );
    assert.deepEqual(
      [...BACKEND_NAMES],
      CANDIDATES.map((c) => c.name),
    );
  });
  it('auto takes the first candidate that loads and says why the earlier ones were skipped', async () => {
    const calls: string[] = [];
    const sel = await selectBackend('auto', [fake('tensorflow-gpu', false, calls, 'no CUDA'), fake('tensorflow', false, calls), fake('webgpu', true, calls), fake('wasm', true, calls)]);
    assert.equal(sel.name, 'webgpu');
    assert.deepEqual(calls, ['tensorflow-gpu', 'tensorflow', 'webgpu']);
    assert.deepEqual(
      sel.skipped.map((s) => `${s.name}: ${s.reason}`),
      ['tensorflow-gpu: no CUDA', 'tensorflow: nope'],
    );
  });
  it('a missing optional package reads "not installed"', async () => {
    const missing: BackendCandidate = { name: 'tensorflow', tfName: 'tensorflow', load: () => import('@tensorflow/tfjs-node-does-not-exist' as string) as Promise<void> };
    const sel = await selectBackend('auto', [missing, fake('cpu', true, [])]);
    assert.deepEqual(sel.skipped, [{ name: 'tensorflow', reason: 'not installed' }]);
  });
  it('forcing loads only that backend, tells it it was forced, and fails with the reason', async () => {
    const calls: string[] = [];
    await assert.rejects(selectBackend('webgpu', [fake('webgpu', false, calls, 'no adapter'), fake('cpu', true, calls)]), /backend "webgpu" is not available here: no adapter/);
    assert.deepEqual(calls, ['webgpu!']);
  });
  it('the real native candidates fail cleanly here when their packages are missing', async () => {
    for (const c of CANDIDATES.filter((c) => c.name.startsWith('tensorflow'))) {
      await c.load(false).then(
        () => undefined, // installed on this machine: nothing to check
        (err: NodeJS.ErrnoException) => assert.ok(err.code === 'ERR_MODULE_NOT_FOUND' || /libtensorflow|cannot find|not found/i.test(err.message), err.message),
      );
    }
  });
  it('a candidate that loads but registers no backend is skipped', async () => {
    const ghost: BackendCandidate = { name: 'webgpu', tfName: 'no-such-backend', load: async () => {} };
    const sel = await selectBackend('auto', [ghost, CANDIDATES.find((c) => c.name === 'cpu')!]);
    assert.equal(sel.name, 'cpu');
    assert.match(sel.skipped[0]!.reason, /registered no "no-such-backend" backend/);
  });
  it('on this machine auto runs the first real candidate that loads, and says why faster ones were skipped', async () => {
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
    assert.deepEqual([...(await tf.add(tf.tensor1d([1, 2]), 1).data())], [2, 3]);
  });
  it('webgpu adapter names: software renderers are recognised', () => {
    assert.equal(isSoftwareAdapter(adapterName({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' })), true);
    assert.equal(isSoftwareAdapter(adapterName({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' })), false);
    assert.equal(isSoftwareAdapter(adapterName({ vendor: 'nvidia', description: 'NVIDIA GeForce RTX 4070' })), false);
  });
});

describe('batch size choice', () => {
  const timer = (msFor: (b: number) => number, seen: number[]) => async (b: number) => {
    seen.push(b);
    return msFor(b);
  };
  it('takes the batch with the best unit-steps/s', async () => {
    const seen: number[] = [];
    const c = await chooseBatch(
      timer((b) => 100 + 20 * b, seen),
      1,
      { budgetBytes: 1e9 },
    );
    assert.equal(c.batch, 8);
    assert.deepEqual(seen, [1, 2, 4, 8]);
  });
  it('stays at 1 when batching costs B separate steps (CPU-like)', async () => {
    const c = await chooseBatch(
      timer((b) => 100 * b, []),
      1,
      { budgetBytes: 1e9 },
    );
    assert.equal(c.batch, 1);
  });
  it('probes up to 64 on a GPU backend, up to 8 on a CPU one, within the memory budget', async () => {
    assert.deepEqual(batchCandidates('wasm'), [1, 2, 4, 8]);
    assert.deepEqual(batchCandidates('onnx-cpu'), [1, 2, 4, 8]);
    for (const gpu of ['webgpu', 'tensorflow-gpu', 'onnx-cuda', 'onnx-webgpu'] as const) assert.equal(Math.max(...batchCandidates(gpu)), 64);
    // A GPU step that costs the same time up to 64 images (latency-bound): 64 wins.
    const seen: number[] = [];
    const c = await chooseBatch(
      timer(() => 20, seen),
      1,
      { budgetBytes: 1e9, candidates: batchCandidates('webgpu') },
    );
    assert.deepEqual([c.batch, seen], [64, [1, 2, 4, 8, 16, 32, 64]]);
    const fits = await chooseBatch(
      timer(() => 20, []),
      100,
      { budgetBytes: 2000, candidates: batchCandidates('webgpu') },
    );
    assert.equal(fits.batch, 16);
  });
  it('never probes a batch that does not fit the memory budget or exceeds the units', async () => {
    const seen: number[] = [];
    await chooseBatch(
      timer((b) => 10 + b, seen),
      100,
      { budgetBytes: 450 },
    );
    assert.deepEqual(seen, [1, 2, 4]);
    const seen2: number[] = [];
    const c = await chooseBatch(
      timer((b) => 10 + b, seen2),
      100,
      { budgetBytes: 1e9, units: 1 },
    );
    assert.deepEqual([c.batch, seen2.length], [1, 0]);
  });
});
