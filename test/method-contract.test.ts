/**
 * The contract every registered method keeps, run over each of them (a new method inherits it):
 * a unit renders the same alone as in a batch, the same seed gives the same bytes and another seed
 * another image, the curve has steps + 1 finite values, and rendering leaks no tensors. A toy
 * method made of existing parts (pixels, normalized ascent, lucid's transforms, clipped display)
 * is registered here and renders a whole atlas without any change to run.ts or the site.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema, type AtlasConfig } from '../pipeline/config/schema.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { Method, MethodSettings } from '../pipeline/render/method.ts';
import { lectureMethod, type LectureUnitSettings } from '../pipeline/render/methods/lecture.ts';
import { METHODS, registerMethod } from '../pipeline/render/methods/index.ts';
import { scaledTransforms } from '../pipeline/render/methods/shaping.ts';
import { runPipeline } from '../pipeline/run.ts';
import { M025, MODELS, sharedGraph, tempDir, writeConfig } from './support/fixtures.ts';

/** Lecture settings and objective, lucid's transforms, clipped display: a combination no built-in method is. */
const jitterPixels: Method<LectureUnitSettings> = {
  ...lectureMethod,
  id: 'jitter-pixels',
  name: 'Pixels under jitter (test)',
  settings: (config, kind, ctx) => ({ ...lectureMethod.settings(config, kind, ctx), deprocess: 'clip', transforms: scaledTransforms(config.render.lucid.transforms, ctx.size) }),
};
registerMethod(jitterPixels);

const LAYER = 'conv_pw_3_relu';
const SIZE: [number, number] = [48, 48];
const config: AtlasConfig = configSchema.parse({
  model: { id: 'm', source: 'x' },
  render: { border: 1, lecture: { filters: { steps: 3 }, classes: { steps: 3 } }, lucid: { steps: 3, transforms: { pad: 4, jitter: 4, jitter2: 2 } } },
});
let graph: LeanGraph;

before(async () => {
  graph = await sharedGraph(M025);
});
after(() => graph.dispose());

async function render(method: Method<MethodSettings>, kind: 'filter' | 'class', indices: number[], seeds: number[]) {
  const settings = method.settings(config, kind, { size: SIZE, capped: kind === 'filter' });
  const node = kind === 'filter' ? LAYER : graph.logitNode!;
  const objective = method.objective(settings, { kind, node, indices, isLogit: true });
  const units = indices.map((i, k) => ({ key: `${method.id}/${kind}/${i}`, seed: seeds[k]! }));
  return renderBatch(method.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] } });
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

for (const id of Object.keys(METHODS)) {
  describe(`method contract: ${id}`, () => {
    const method = METHODS[id]!;

    test('has a name and a description for the site', () => {
      assert.ok(method.name.length > 5 && method.description.length > 40);
    });

    for (const kind of ['filter', 'class'] as const) {
      test(`${kind}s: a unit renders the same alone as in a batch`, async () => {
        const indices = kind === 'filter' ? [2, 7, 11] : [1, 130, 954];
        const batch = await render(method, kind, indices, [101, 202, 303]);
        const [alone] = await render(method, kind, [indices[1]!], [202]);
        assert.ok(same(alone!.image, batch[1]!.image), 'image');
        assert.equal(alone!.curve.length, batch[1]!.curve.length);
        alone!.curve.forEach((v, i) => assert.ok(Math.abs(v - batch[1]!.curve[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `curve step ${i}`));
        assert.ok(!same(batch[0]!.image, batch[1]!.image), 'the batch holds different images');
      });
    }

    test('same seed → same bytes and curve; another seed → another image; steps + 1 finite values', async () => {
      const [a] = await render(method, 'filter', [5], [42]);
      const [b] = await render(method, 'filter', [5], [42]);
      const [c] = await render(method, 'filter', [5], [43]);
      assert.ok(same(a!.image, b!.image));
      assert.deepEqual(a!.curve, b!.curve);
      assert.ok(!same(a!.image, c!.image));
      assert.equal(a!.curve.length, 4);
      assert.ok(a!.curve.every(Number.isFinite) && a!.error === undefined);
      assert.equal(a!.input.length, SIZE[0] * SIZE[1] * 3, 'input is the uncropped optimized image');
    });

    test('rendering leaks no tensors', async () => {
      await render(method, 'filter', [1], [1]);
      const count = tf.memory().numTensors;
      await render(method, 'filter', [1, 2], [1, 2]);
      await render(method, 'class', [3], [3]);
      assert.equal(tf.memory().numTensors, count);
    });
  });
}

test('a method registered outside the pipeline renders a whole atlas (run.ts and the site unchanged)', async () => {
  const dir = await tempDir();
  const file = await writeConfig(
    dir,
    `model: { id: ${M025}, source: ${path.join(MODELS, M025)} }\nlayers: { ${LAYER}: [0, 1] }\nclasses: [1]\nrender: { methods: [lecture, jitter-pixels], size: 48, lecture: { filters: { steps: 2 }, classes: { steps: 2 } }, backend: wasm, batch: 2 }\n`,
  );
  const summary = await runPipeline({ configFile: file, quiet: true, env: {} });
  assert.equal(summary.computed, 6);
  const toy = summary.manifest.units.filter((u) => u.method === 'jitter-pixels');
  assert.equal(toy.length, 3);
  assert.deepEqual(
    summary.manifest.methods.map((m) => m.id),
    ['lecture', 'jitter-pixels'],
  );
  for (const u of toy) for (const f of Object.values(u.files!)) await fs.access(path.join(summary.outDir, f));
  assert.ok(
    toy.every((u) => u.settings.deprocess === 'clip'),
    'its own settings are recorded',
  );
});
