/**
 * WebGPU (Dawn) against wasm on MobileNet v1 0.25: a lean gradient step, and a lucid class batch
 * through its continued steps. Runs when a hardware
 * adapter exists; on a software adapter (llvmpipe) only with ATLAS_TEST_WEBGPU=1 (slow).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { loadModel } from '../pipeline/model/load.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import { lucidMethod } from '../pipeline/render/methods/lucid.ts';
import { relErr, rng, sharedModel } from './support/engine.ts';

async function adapter(): Promise<{ skip: string | false }> {
  try {
    const { loadWebGpu } = await import('../pipeline/engine/webgpu.ts');
    const info = await loadWebGpu({ allowSoftware: process.env.ATLAS_TEST_WEBGPU === '1' });
    return { skip: false, ...info };
  } catch (err) {
    return { skip: `no usable WebGPU adapter (${(err as Error).message.split('\n')[0]}); a software adapter runs with ATLAS_TEST_WEBGPU=1` };
  }
}

const file = sharedModel('mobilenet_v1_0.25_224');
const { skip } = await adapter();
after(() => setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref());

it('webgpu lean gradient = wasm (conv_dw_2_relu, conv_pw_6_relu)', { skip: !file ? 'shared models not found' : skip }, async () => {
  // One graph per backend: moving tensors off webgpu would need readSync (OffscreenCanvas in tfjs).
  const graphs = new Map<string, ReturnType<typeof buildLeanGraph>>();
  for (const backend of ['wasm', 'webgpu'] as const) {
    await selectBackend(backend);
    graphs.set(backend, (await loadModel(file!)).graph);
  }
  const r = rng(9);
  const input = Float32Array.from({ length: 96 * 96 * 3 }, () => r() * 2 - 1);
  const run = async (backend: 'wasm' | 'webgpu', layer: string) => {
    await selectBackend(backend);
    const graph = graphs.get(backend)!;
    const x = tf.tensor4d(input, [1, 96, 96, 3]);
    const [y, g] = tf.tidy(() => {
      const f = (t: tf.Tensor) => tf.sum(graph.run(t as tf.Tensor4D, [layer])[0]!);
      return [graph.run(x, [layer])[0]!, tf.grad(f)(x)];
    });
    const out = [(await y!.data()) as Float32Array, (await g!.data()) as Float32Array]; // data(): dataSync throws on Dawn/GL
    tf.dispose([x, y!, g!]);
    return out;
  };
  for (const layer of ['conv_dw_2_relu', 'conv_pw_6_relu']) {
    const [refY, refG] = await run('wasm', layer);
    const [y, g] = await run('webgpu', layer);
    assert.ok(relErr(y!, refY!) < 1e-4, `${layer} forward rel err ${relErr(y!, refY!)}`);
    assert.ok(relErr(g!, refG!) < 1e-3, `${layer} gradient rel err ${relErr(g!, refG!)}`);
  }
});

it('webgpu renders a lucid class batch through its continued steps = wasm (rank-6 Fourier parameters)', { skip: !file ? 'shared models not found' : skip }, async () => {
  const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lucid: { steps: 1, classes: { maxSteps: 3 } } } });
  const settings = lucidMethod.settings(config, 'class', { size: [64, 64], capped: false });
  const render = async (backend: 'wasm' | 'webgpu') => {
    await selectBackend(backend);
    const { graph } = await loadModel(file!);
    const classes = [130, 954];
    const objective = lucidMethod.objective(settings, { kind: 'class', node: graph.logitNode!, indices: classes, isLogit: true });
    const units = classes.map((c, i) => ({ key: `lucid/class/${c}`, seed: 7 + i }));
    const results = await renderBatch(lucidMethod.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] } });
    graph.dispose();
    return results;
  };
  const ref = await render('wasm');
  const got = await render('webgpu');
  // Neither class leads after one step: both units run their continued steps (finished ones kept by a select).
  assert.deepEqual(
    got.map((r) => r.curve.length),
    ref.map((r) => r.curve.length),
  );
  assert.ok(ref.every((r) => r.curve.length > 2));
  // Adam's first steps scale each coordinate to about ±lr whatever its size, so float noise in a near-zero
  // gradient moves a few bytes (seen on llvmpipe: 1.25 on average, 8 at most): the images agree on
  // average, with no byte far off; a wrong kernel moves them by tens.
  got.forEach((r, i) => {
    const diffs = r.image.map((v, k) => Math.abs(v - ref[i]!.image[k]!));
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    assert.ok(mean < 2.5 && Math.max(...diffs) <= 24, `unit ${i}: bytes differ by ${mean.toFixed(2)} on average, up to ${Math.max(...diffs)}`);
  });
});
