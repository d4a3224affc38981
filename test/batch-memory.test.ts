/**
 * `batch: auto` within the device's memory: the budget per backend (half a GPU's free memory where
 * the driver tells it), the probe's step-down when a batch runs out of memory (and only then), and
 * the probe on the engine that renders: ONNX Runtime on onnx-cpu with VGG16 (seeded weights),
 * whose activations decide how many units fit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vgg16 } from '../bench/architectures.ts';
import { bytesPerUnit, chooseBatch, defaultBudget, isOutOfMemory, memoryBudget, pickBatchSize } from '../pipeline/engine/batch-size.ts';
import type { GradientEngine } from '../pipeline/engine/engine.ts';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { lowerSpec } from '../pipeline/engine/lower.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { loadOrt, type OrtModule } from '../pipeline/engine/onnx/runtime.ts';
import { specFromLayersModel } from '../pipeline/model/from-layers.ts';

let ort: OrtModule | undefined;
const noOrt = await loadOrt().then(
  (m) => ((ort = m), false as const),
  (err: Error) => `onnxruntime-node cannot load here: ${err.message.split('\n')[0]}`,
);
const GPU = [1, 2, 4, 8, 16, 32, 64];

describe('batch: auto within memory', () => {
  it('a GPU backend fills half the free GPU memory the driver reports; CPU backends and silent GPUs keep the host budget', () => {
    const free = () => 80 * 2 ** 30;
    assert.equal(memoryBudget('onnx-cuda', free), 40 * 2 ** 30);
    assert.equal(memoryBudget('onnx-webgpu', free), 40 * 2 ** 30);
    assert.equal(memoryBudget('webgpu', free), 40 * 2 ** 30);
    const host = defaultBudget();
    assert.ok(Math.abs(memoryBudget('onnx-cpu', free) - host) < 64 * 2 ** 20);
    assert.ok(Math.abs(memoryBudget('onnx-cuda', () => undefined) - host) < 64 * 2 ** 20);
  });

  it('tells allocation failures from other errors', () => {
    for (const m of [
      'Failed to allocate memory for requested buffer of size 12845056000',
      'CUDA failure 2: out of memory ; GPU=0',
      '[WebGPU] Out of memory',
      'Requested buffer size (3211264000) exceeds the max buffer size limit (2147483648).',
      'Aborted(OOM)',
    ])
      assert.ok(isOutOfMemory(new Error(m)), m);
    for (const m of ['Got invalid dimensions for input: x', 'Conv: kernel shape mismatch']) assert.ok(!isOutOfMemory(new Error(m)), m);
  });

  it('a batch that runs out of memory in the probe is not taken, nor any larger one; other failures are errors', async () => {
    const seen: number[] = [];
    // The device holds 16 such images: 32 fails the way ORT's CUDA arena does.
    const time = async (b: number) => {
      seen.push(b);
      if (b > 16) throw new Error(`Failed to allocate memory for requested buffer of size ${b * 180 * 2 ** 20}`);
      return 20;
    };
    const c = await chooseBatch(time, 1, { budgetBytes: 1e12, candidates: GPU });
    assert.equal(c.batch, 16);
    assert.deepEqual(seen, [1, 2, 4, 8, 16, 32]);
    assert.match(c.limit, /B=32 ran out of memory \(Failed to allocate memory/);
    await assert.rejects(
      chooseBatch(
        async (b) => {
          if (b === 4) throw new Error('Got invalid dimensions for input: x');
          return 20;
        },
        1,
        { budgetBytes: 1e12, candidates: GPU },
      ),
      /invalid dimensions/,
    );
    await assert.rejects(
      chooseBatch(
        async () => {
          throw new Error('CUDA failure 2: out of memory');
        },
        1,
        { budgetBytes: 1e12, candidates: GPU },
      ),
      /out of memory/,
      'a single image that does not fit is the run’s error',
    );
  });

  it('VGG16 on onnx-cpu: the probe runs on the ONNX engine and only batches whose activations fit the budget', { skip: noOrt }, async () => {
    const layers = vgg16();
    const spec = specFromLayersModel(layers);
    layers.dispose();
    const graph = buildLeanGraph(spec);
    const onnx = new OnnxEngine(lowerSpec(spec).nodes, { ort: ort!, provider: 'cpu', threads: 1 });
    const seen: number[] = [];
    const engine: GradientEngine = {
      name: onnx.name,
      features: (r, x) => onnx.features(r, x),
      dispose: () => onnx.dispose(),
      valueAndGrad: (o, x) => (seen.push(x.shape[0]), onnx.valueAndGrad(o, x)),
    };
    try {
      const size: [number, number] = [32, 32];
      const perUnit = bytesPerUnit(graph, 'block5_conv3', size);
      // VGG16 at 224 px keeps ~174 MiB of activations per image up to block5_conv3 (×64: 11 GiB, a GPU's share, not a host's).
      assert.ok(bytesPerUnit(graph, 'block5_conv3', [224, 224]) > 150 * 2 ** 20);
      const choice = await pickBatchSize(engine, graph, 'block5_conv3', size, { candidates: GPU, steps: 1, budgetBytes: perUnit * 2.5 });
      assert.deepEqual(seen, [1, 1, 2, 2], 'B = 1 and 2 fit; 4 and up are never run');
      assert.match(choice.limit, /^2 fit in/);
      assert.ok([1, 2].includes(choice.batch));
      assert.equal(onnx.stats.runs, 4, 'every probe step ran in ONNX Runtime');
    } finally {
      graph.dispose();
      onnx.dispose();
    }
  });
});
