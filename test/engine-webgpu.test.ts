/**
 * WebGPU (Dawn) against wasm: a lean gradient step on MobileNet v1 0.25. Runs when a hardware
 * adapter exists; on a software adapter (llvmpipe) only with ATLAS_TEST_WEBGPU=1 (slow).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { loadModel } from '../pipeline/model/load.ts';
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
