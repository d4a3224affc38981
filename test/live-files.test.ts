/**
 * The live page's model files (output/live-graph.ts, output/live-files.ts): the lean graph of a real
 * model through JSON and weight shards and back runs exactly as the graph it came from; shards stay
 * under their limit; the files are kept while the weights hash is unchanged and rewritten when it
 * changes; the media budget counts them once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { leanGraphOf } from '../pipeline/engine/graph.ts';
import { loadModel } from '../pipeline/model/load.ts';
import { writeLiveFiles } from '../pipeline/output/live-files.ts';
import { decodeLiveGraph, encodeLiveGraph, liveWeightBytes } from '../pipeline/output/live-graph.ts';
import { estimateAtlas, TIERS } from '../pipeline/output/media-plan.ts';
import { loweredOf } from '../pipeline/run/live.ts';
import { M025, MODELS, tempDir } from './support/fixtures.ts';

const PIXELS = { pixels: { range: [-1, 1] as [number, number] } };

test('a real lean graph through JSON and small shards and back gives the same features, and the JSON keeps Infinity', async () => {
  await tf.setBackend('cpu');
  const { graph } = await loadModel(path.join(MODELS, M025, 'model.json'));
  const lowered = loweredOf(graph);
  const { json, shards } = encodeLiveGraph(lowered, 'hash', PIXELS, 1 << 20);
  assert.ok(shards.length > 1, 'split into several shards');
  assert.ok(shards.every((s) => s.byteLength <= 1 << 20));
  assert.equal(
    shards.reduce((a, s) => a + s.byteLength, 0),
    liveWeightBytes(lowered.nodes),
  );
  // Through JSON text, as the browser reads it; each shard in its own buffer, as fetched.
  const back = decodeLiveGraph(
    JSON.parse(JSON.stringify(json)),
    shards.map((s) => s.slice().buffer),
  );
  assert.ok(back.nodes.some((n) => n.op.op === 'clip' && n.op.max === 6) || back.nodes.some((n) => n.op.op === 'activation'));
  const copy = leanGraphOf(back);
  const x = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  for (const layer of ['conv_pw_5_relu', graph.outputName]) {
    const [a] = graph.run(x, [layer]);
    const [b] = copy.run(x, [layer]);
    assert.deepEqual(await b!.data(), await a!.data(), layer);
    tf.dispose([a!, b!]);
  }
  x.dispose();
  copy.dispose();
  graph.dispose();
  // Non-finite constants survive JSON (a plain ReLU layer's cap).
  const relu = encodeLiveGraph({ ...lowered, nodes: [{ name: 'r', className: 'ReLU', inputs: [], op: { op: 'clip', min: 0, max: Infinity }, outputShape: [1] }] }, 'h', PIXELS);
  const op = decodeLiveGraph(
    JSON.parse(JSON.stringify(relu.json)),
    relu.shards.map((s) => s.slice().buffer),
  ).nodes[0]!.op;
  assert.deepEqual(op, { op: 'clip', min: 0, max: Infinity });
});

test('shards that do not match the JSON are refused, naming the file', () => {
  const lowered = {
    inputName: 'in',
    inputShape: [2, 2, 1] as [number, number, number],
    outputName: 's',
    nodes: [{ name: 's', className: 'X', inputs: ['in'], op: { op: 'scale' as const, scale: { shape: [3], data: new Float32Array([1, 2, 3]) } }, outputShape: [2, 2, 3] }],
  };
  const { json } = encodeLiveGraph(lowered, 'h', PIXELS);
  assert.throws(() => decodeLiveGraph(json, [new ArrayBuffer(8)]), /weights-0\.bin: 8 bytes, graph\.json lists 12/);
  assert.throws(() => decodeLiveGraph({ ...json, format: 'other' as never }, [new ArrayBuffer(12)]), /format "other"/);
});

test('written once per weights hash: kept while it is unchanged, rewritten (stale shards removed) when it changes', async () => {
  const dir = await tempDir('fa-live-files-');
  const big = new Float32Array(300_000).map((_, i) => i);
  const lowered = (data: Float32Array) => ({
    inputName: 'in',
    inputShape: [2, 2, 1] as [number, number, number],
    outputName: 's',
    nodes: [{ name: 's', className: 'X', inputs: ['in'], op: { op: 'scale' as const, scale: { shape: [data.length], data } }, outputShape: [2, 2, data.length] }],
  });
  const defaults = { seed: 0, settings: {} };
  const first = await writeLiveFiles(dir, 'm', lowered(big), 'h1', PIXELS, defaults);
  assert.match(first.note, /written/);
  assert.ok('graph' in first.files && first.files.bytes > big.byteLength);
  const stamp = (await fs.stat(path.join(dir, 'm/live/weights-0.bin'))).mtimeMs;
  const again = await writeLiveFiles(dir, 'm', lowered(big), 'h1', PIXELS, defaults);
  assert.match(again.note, /kept/);
  assert.equal((await fs.stat(path.join(dir, 'm/live/weights-0.bin'))).mtimeMs, stamp);
  await fs.writeFile(path.join(dir, 'm/live/weights-7.bin'), 'stale');
  const changed = await writeLiveFiles(dir, 'm', lowered(new Float32Array(4)), 'h2', PIXELS, defaults);
  assert.match(changed.note, /written/);
  assert.deepEqual((await fs.readdir(path.join(dir, 'm/live'))).sort(), ['graph.json', 'weights-0.bin']);
  assert.equal((await fs.stat(path.join(dir, 'm/live/weights-0.bin'))).size, 16);
  await fs.rm(dir, { recursive: true, force: true });
});

test('the media budget counts the live files once, whatever the tier', () => {
  const units = [{ kind: 'filter' as const, deprocess: 'lecture' as const, width: 174, height: 174, frames: 31 }];
  for (const tier of TIERS) assert.equal(estimateAtlas(tier, units, 10_000_000) - estimateAtlas(tier, units), 10_000_000, tier.name);
});
