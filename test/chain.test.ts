/**
 * Chained steps (render/chain-loop.ts, engine/onnx/chain.ts) on onnx-cpu make the same units as one
 * step per engine call: same seeds, frames within one byte, curves within float error, for lecture
 * filters, lecture classes with continuation, and K that does not divide the steps. A chain that
 * steps the wrong way is told apart by the same comparison. And a filter that cannot move
 * (MobileNet v1 0.75 `conv_pw_2_relu` 10, weights ~1e-11) does not step on any engine path, and is
 * flagged dead, while its live neighbours step. Real MobileNets at 64 px, a few steps.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { compileChain } from '../pipeline/engine/onnx/chain.ts';
import { chainStepOf } from '../pipeline/engine/onnx/chain-methods.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { valueAndGradOfParams } from '../pipeline/engine/step.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { chainLength, MAX_STEPS_PER_CALL, renderBatchChained } from '../pipeline/render/chain-loop.ts';
import { unitFlags } from '../pipeline/render/flags.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { RenderContext, RenderPlan, UnitResult } from '../pipeline/render/method.ts';
import { lectureMethod } from '../pipeline/render/methods/lecture.ts';
import { inputWidths } from '../pipeline/render/movable.ts';
import { toModelInput, type PixelSpace } from '../pipeline/render/pixels.ts';
import { runPipeline } from '../pipeline/run.ts';
import { mobileNetEngines, ortOrSkip } from './support/engine.ts';
import { differences } from './support/render-compare.ts';
import { M075, MODELS, sharedGraph, tempDir, writeConfig } from './support/fixtures.ts';

const { ort, skip } = await ortOrSkip();

const SIZE: [number, number] = [64, 64];
const PIXELS = { range: [-1, 1] as [number, number] };
const CAFFE: PixelSpace = { range: [0, 255], mean: [103.9, 116.8, 123.7], std: [57.4, 57.1, 58.4], channelOrder: 'bgr' };

function lecturePlan(kind: 'filter' | 'class', node: string, indices: number[], lecture: Record<string, unknown>): RenderPlan {
  const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lecture } });
  const settings = lectureMethod.settings(config, kind, { size: SIZE, capped: kind === 'filter' });
  const objective = lectureMethod.objective(settings, { kind, node, indices, isLogit: true });
  const units = indices.map((i) => ({ key: `lecture/${kind}/${node}/${i}`, seed: 1000 + i }));
  return lectureMethod.plan(settings, units, objective);
}

test('K: all the steps up to the maximum, else a divisor of them from the maximum down to half of it, else the maximum', () => {
  const k = (steps: number) => chainLength({ steps } as RenderPlan);
  assert.equal(MAX_STEPS_PER_CALL, 8);
  assert.deepEqual([2, 8, 30, 40, 300, 512, 31].map(k), [2, 8, 6, 8, 6, 8, 8]);
});

describe('chained steps on onnx-cpu equal one step per call', { skip }, () => {
  const g = mobileNetEngines(() => ort!);

  test('lecture filters, K = 2 and 3 over 5 steps (K does not divide them), and K = 8 (more than the steps)', async () => {
    const make = () => lecturePlan('filter', 'conv_pw_5_relu', [0, 7, 30], { filters: { steps: 5 } });
    const ctx: RenderContext = { engine: g.e75, pixels: PIXELS };
    const one = await renderBatch(make(), ctx);
    assert.ok(
      one.every((u) => u.curve.at(-1)! > u.curve[0]! && !u.still),
      'the units ascend',
    );
    for (const k of [2, 3, 8]) assert.deepEqual(differences(one, await renderBatchChained(make(), ctx, { stepsPerCall: k })), [], `K = ${k}`);
  });

  // Whole runs are compared over a few steps: normalized ascent on a ReLU network is discontinuous
  // where some unit's mask flips, so two paths 1e-6 apart can part at any step (filter 3 here, with
  // L2 0.01, parts at step 5 while the same state still steps to within 3e-7: the next test).
  test('caffe-style pixels (BGR, [0, 255], mean and std) and an L2 penalty, K = 3', async () => {
    const make = () => lecturePlan('filter', 'conv_pw_5_relu', [3, 12], { filters: { steps: 5, l2: 0.01 } });
    const ctx: RenderContext = { engine: g.e75, pixels: CAFFE };
    const one = await renderBatch(make(), ctx);
    assert.ok(one.every((u) => !u.still && u.curve.at(-1)! > u.curve[0]!));
    assert.deepEqual(differences(one, await renderBatchChained(make(), ctx, { stepsPerCall: 3 })), []);
  });

  test('from the same state, every chained step equals the one-step update (caffe pixels, L2, 8 steps)', async () => {
    const plan = lecturePlan('filter', 'conv_pw_5_relu', [3, 12], { filters: { steps: 8, l2: 0.01 } });
    const chain = { plan, pixels: CAFFE, inputShape: [64, 64, 3] as [number, number, number] };
    const step = chainStepOf(chain);
    if (typeof step === 'string') throw new Error(step);
    const compiled = compileChain(g.m75.lowered, plan.objective.read, step, chain, 1);
    const session = await ort!.InferenceSession.create(compiled.model);
    const batch = plan.units.length;
    const features = [batch, ...compiled.featureShape];
    const { dA, offset } = g.e75.linearHead(plan.objective, features);
    const t = (data: Float32Array, dims: number[]) => new ort!.Tensor('float32', data, dims);
    const widths = tf.tensor1d(inputWidths(CAFFE));
    let x = plan.parameterization.init(plan.units, SIZE);
    try {
      for (let s = 0; s < plan.steps; s++) {
        const prefix = (p: tf.Tensor) => ({ input: toModelInput(p as tf.Tensor4D, CAFFE), penalty: tf.sum(tf.square(p), [1, 2, 3]).mul(plan.l2 / 2) as tf.Tensor1D });
        const { value, grad, span } = await valueAndGradOfParams(g.e75, plan.objective, prefix, x, widths);
        const next = plan.optimizer.step(x, grad, s);
        const out = await session.run({
          params: t(x.dataSync() as Float32Array, x.shape),
          dA: t(dA, features),
          offset: t(offset, [batch]),
          active: t(new Float32Array(batch).fill(1), [batch]),
          frameAt: t(new Float32Array(0), [0]),
        });
        const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
        assert.ok(worst(next.dataSync(), out.params_out!.data as Float32Array) < 1e-5, `step ${s}: the next image`);
        assert.ok(worst(value.dataSync(), out.values!.data as Float32Array) < 1e-5, `step ${s}: the value`);
        tf.dispose([value, grad, span, x]);
        x = next;
      }
    } finally {
      tf.dispose([x, widths]);
      await session.release();
    }
  });

  test('a plan the chain cannot take runs one step per call, the reason logged once', async () => {
    const make = () => lecturePlan('filter', 'conv_pw_5_relu', [1], { filters: { steps: 2 }, transforms: {} });
    const ctx: RenderContext = { engine: g.e75, pixels: PIXELS };
    const lines: string[] = [];
    const chained = await renderBatchChained(make(), ctx, { log: (l) => lines.push(l) });
    await renderBatchChained(make(), ctx, { log: (l) => lines.push(l) });
    assert.deepEqual(lines, ['note: lecture batches run one step per call (its random transforms are not compiled yet)']);
    assert.deepEqual(differences(await renderBatch(make(), ctx), chained), []);
  });

  test('a chain that steps the wrong way is told apart', async () => {
    const ctx: RenderContext = { engine: g.e75, pixels: PIXELS };
    const plan = lecturePlan('filter', 'conv_pw_5_relu', [0, 7], { filters: { steps: 3 } });
    const one = await renderBatch(lecturePlan('filter', 'conv_pw_5_relu', [0, 7], { filters: { steps: 3 } }), ctx);
    const wrong = { ...plan, chain: { method: 'lecture', options: { ...plan.chain!.options, stepSize: -(plan.chain!.options.stepSize as number) } } };
    const found = differences(one, await renderBatchChained(wrong, ctx, { stepsPerCall: 2 }));
    assert.ok(found.some((d) => d.includes('frame')) && found.some((d) => d.includes('curve')), found.join('\n'));
  });

  // The step size is the notes' 100 at 224 px scaled to the 64-px image's pixels (~30) or less: far
  // larger steps under the clip make a chaotic ascent, where 1e-6 apart images part after a few steps
  // (on any two engines alike).
  test('lecture classes with continuation (clipped, projected), K = 3', async () => {
    const maxSteps = 8;
    const make = () => lecturePlan('class', g.m25.logitNode!, [130, 954, 409, 1, 2], { classes: { steps: 2, maxSteps, stepSize: 10 } });
    const ctx: RenderContext = { engine: g.e25, pixels: PIXELS };
    const one = await renderBatch(make(), ctx);
    const lengths = one.map((u) => u.curve.length - 1);
    assert.ok(lengths.some((n) => n > 2 && n < maxSteps) && lengths.includes(maxSteps), `steps per unit: ${lengths} (some stop while others continue)`);
    assert.deepEqual(differences(one, await renderBatchChained(make(), ctx, { stepsPerCall: 3 })), []);
  });

  test('the chain stores the weights once, however many steps it unrolls', () => {
    const plan = lecturePlan('filter', 'conv_pw_5_relu', [0], { filters: { steps: 4 } });
    const chain = { plan, pixels: PIXELS, inputShape: [64, 64, 3] as [number, number, number] };
    const step = chainStepOf(chain);
    if (typeof step === 'string') throw new Error(step);
    const bytes = (k: number) => compileChain(g.m75.lowered, plan.objective.read, step, chain, k).model.byteLength;
    const [one, four] = [bytes(1), bytes(4)];
    assert.ok(four < 1.25 * one, `K=1: ${one} bytes, K=4: ${four}`);
  });
});

describe('a filter that cannot move does not step, and is flagged dead', { skip }, () => {
  let graph: LeanGraph;
  before(async () => {
    graph = await sharedGraph(M075);
  });
  after(() => graph.dispose());

  const make = () => lecturePlan('filter', 'conv_pw_2_relu', [9, 10, 11], { filters: { steps: 4 } });
  const paths: [string, (plan: RenderPlan) => Promise<UnitResult[]>][] = [
    ['one step per call, TF.js', (plan) => renderBatch(plan, { engine: tfjsEngine(graph), pixels: PIXELS })],
    ['one step per call, onnx-cpu', (plan) => renderBatch(plan, { engine: new OnnxEngine(graph.lowered, { ort: ort!, provider: 'cpu' }), pixels: PIXELS })],
    ['chained, onnx-cpu', (plan) => renderBatchChained(plan, { engine: new OnnxEngine(graph.lowered, { ort: ort!, provider: 'cpu' }), pixels: PIXELS }, { stepsPerCall: 3 })],
  ];
  for (const [label, render] of paths)
    test(label, async () => {
      const [live1, dead, live2] = await render(make());
      assert.equal(dead!.still, true);
      assert.equal(dead!.frames.length, 5);
      for (const f of dead!.frames) assert.deepEqual(f, dead!.frames[0], 'its frames do not change');
      assert.deepEqual(unitFlags('filter', dead!, undefined), ['dead']);
      for (const live of [live1!, live2!]) {
        assert.equal(live.still, undefined);
        assert.notDeepEqual(live.frames.at(-1), live.frames[0], 'a live neighbour steps');
        assert.ok(live.curve.at(-1)! > live.curve[0]!);
        assert.ok(!unitFlags('filter', live, undefined).includes('dead'));
      }
    });
});

test('an entry an older build stepped on noise (flat curve, not flagged dead) is rendered again; the live one is reused', { skip }, async () => {
  const dir = await tempDir();
  const file = await writeConfig(
    dir,
    `model: { id: ${M075}, source: ${path.join(MODELS, M075)} }\nlayers: { conv_pw_2_relu: [9, 10] }\nclasses: []\nrender: { size: 64, backend: onnx-cpu, batch: 2, workers: 1, lecture: { filters: { steps: 3 } } }\noutput: out\n`,
  );
  const run = () => runPipeline({ configFile: file, quiet: true, env: {} });
  const first = await run();
  const dead = first.manifest.units.find((u) => u.index === 10)!;
  assert.deepEqual(dead.flags, ['dead']);
  const manifestFile = path.join(first.outDir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as { units: { index: number; flags: string[] }[] };
  manifest.units.find((u) => u.index === 10)!.flags = [];
  await fs.writeFile(manifestFile, JSON.stringify(manifest));
  const second = await run();
  assert.deepEqual([second.computed, second.reused], [1, 1]);
  assert.deepEqual(second.manifest.units.find((u) => u.index === 10)!.flags, ['dead']);
  assert.equal(second.manifest.units.find((u) => u.index === 10)!.cacheKey, dead.cacheKey, 'under the same key');
  assert.deepEqual([(await run()).computed], [0]);
});
