/**
 * Choosing ONNX Runtime: the real onnx-* candidates (ORT present: onnx-cpu is taken ahead of wasm,
 * the GPU providers say why they did not load), ORT absent (a loader of a package that does not
 * exist: "not installed", wasm runs), and the engine the choice gives for a graph.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CANDIDATES, onnxCandidate, selectBackend } from '../pipeline/engine/backend.ts';
import type { GradientEngine } from '../pipeline/engine/engine.ts';
import type { LeanNode } from '../pipeline/engine/onnx/compile.ts';
import { loadOrt, type OrtModule } from '../pipeline/engine/onnx/runtime.ts';
import type { LeanOp } from '../pipeline/engine/ops.ts';
import { createGradientEngine } from '../pipeline/engine/select-engine.ts';

const ortMissing = await loadOrt().then(
  () => false as const,
  (err: Error) => `onnxruntime-node cannot load here: ${err.message.split('\n')[0]}`,
);
const absent = () => import('onnxruntime-node-does-not-exist' as string) as Promise<OrtModule>;
const wasmAndCpu = CANDIDATES.filter((c) => c.name === 'wasm' || c.name === 'cpu');

/** The TF.js engine stand-in: only its name is looked at (which factory was used). */
const tfjsEngine = (): GradientEngine => ({
  name: 'tfjs-wasm',
  valueAndGrad: () => Promise.reject(new Error('not used here')),
  features: () => Promise.reject(new Error('not used here')),
  dispose: () => undefined,
});

const graph = (op: LeanOp): { nodes: LeanNode[] } => ({
  nodes: [
    { name: 'x', inputs: [], op: { op: 'input' } },
    { name: 'y', inputs: ['x'], op },
  ],
});

describe('onnx backend selection', () => {
  it('auto takes onnx-cpu ahead of wasm where ORT loads, and says why the GPU providers did not', { skip: ortMissing }, async () => {
    const sel = await selectBackend(
      'auto',
      CANDIDATES.filter((c) => c.onnx || c.name === 'wasm'),
    );
    assert.equal(sel.name, 'onnx-cpu');
    assert.equal(sel.onnx, 'cpu');
    assert.equal(tf.getBackend(), 'wasm', 'TF.js runs on wasm beside ORT');
    // Every provider ahead of onnx-cpu was tried and skipped with a reason (no GPU provider libraries here).
    const order = CANDIDATES.filter((c) => c.onnx || c.name === 'wasm').map((c) => c.name);
    assert.deepEqual(
      sel.skipped.map((s) => s.name),
      order.slice(0, order.indexOf('onnx-cpu')),
    );
    for (const s of sel.skipped) {
      assert.match(s.name, /^onnx-(cuda|directml|coreml|webgpu)$/);
      assert.ok(s.reason.length > 0);
    }
  });
  it('where ORT is not installed, auto says so and wasm runs', async () => {
    const sel = await selectBackend('auto', [onnxCandidate('cpu', absent), ...wasmAndCpu]);
    assert.equal(sel.name, 'wasm');
    assert.equal(sel.onnx, undefined);
    assert.deepEqual(sel.skipped, [{ name: 'onnx-cpu', reason: 'not installed' }]);
  });
  it('forcing onnx-cpu where ORT is not installed fails with the reason', async () => {
    await assert.rejects(selectBackend('onnx-cpu', [onnxCandidate('cpu', absent), ...wasmAndCpu]), /backend "onnx-cpu" is not available here: not installed/);
  });
});

describe('createGradientEngine', () => {
  const conv: LeanOp = { op: 'conv2d', kind: 'conv', filter: { shape: [1, 1, 3, 2], data: new Float32Array(6) }, strides: [1, 1], padding: 'same', dilations: [1, 1], activation: 'relu' };
  it('onnx-cpu and a graph it compiles: the ONNX engine', { skip: ortMissing }, async () => {
    const { engine, fallback } = await createGradientEngine({ name: 'onnx-cpu', onnx: 'cpu', skipped: [] }, graph(conv), tfjsEngine, { threads: 1 });
    assert.equal(engine.name, 'onnx-cpu');
    assert.equal(fallback, undefined);
    engine.dispose();
  });
  it('onnx-cpu and an op without an ONNX rule: the TF.js engine, and why', async () => {
    const { engine, fallback } = await createGradientEngine({ name: 'onnx-cpu', onnx: 'cpu', skipped: [] }, graph({ op: 'lstm' } as unknown as LeanOp), tfjsEngine);
    assert.equal(engine.name, 'tfjs-wasm');
    assert.match(fallback!, /onnx-cpu cannot compile this model \(node y: op "lstm" has no ONNX rule\)/);
  });
  it('a TF.js backend: the TF.js engine', async () => {
    const { engine, fallback } = await createGradientEngine({ name: 'wasm', skipped: [] }, graph(conv), tfjsEngine);
    assert.equal(engine.name, 'tfjs-wasm');
    assert.equal(fallback, undefined);
  });
});
