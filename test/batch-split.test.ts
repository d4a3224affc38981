/**
 * A batch split between ONNX Runtime sessions on worker threads (engine/onnx/batch-split.ts): the
 * slicing and joining along an axis, when an engine splits, and that a chained render split in parts
 * makes exactly the units one session makes (lucid filters, and classes whose continuation masks
 * some units off) on the real MobileNets. Errors inside a part's thread reach the caller with ORT's
 * message, and the session still runs afterwards.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { batchParts, joinAxis, partsWithinMemory, sliceAxis, sliceSizes, SplitSession } from '../pipeline/engine/onnx/batch-split.ts';
import { GraphBuilder } from '../pipeline/engine/onnx/builder.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { renderBatchChained } from '../pipeline/render/chain-loop.ts';
import type { RenderPlan, UnitResult } from '../pipeline/render/method.ts';
import { channelObjective, classObjective } from '../pipeline/render/objectives.ts';
import { mobileNetEngines, ortOrSkip, rng } from './support/engine.ts';
import { lucidPlan } from './support/lucid-plan.ts';

const { ort, skip } = await ortOrSkip();
const PIXELS = { range: [-1, 1] as [number, number] };

describe('slicing a batch', () => {
  test('parts: one per thread up to one per image and as many as memory holds, the threads shared out; none without a thread count', () => {
    assert.deepEqual(batchParts(2, 4), { parts: 2, threadsPerPart: 1 });
    assert.deepEqual(batchParts(16, 4), { parts: 4, threadsPerPart: 4 });
    assert.deepEqual(batchParts(2, 1), { parts: 1, threadsPerPart: 2 });
    assert.equal(batchParts(undefined, 8).parts, 1);
    // Each part holds the weights again (twice the model's bytes, pre-packed); the extra copies may take half of free memory.
    assert.equal(partsWithinMemory(4, 100e6, 16e9), 4);
    assert.equal(partsWithinMemory(16, 528e6, 8e9), 4);
    assert.equal(partsWithinMemory(4, 528e6, 1e9), 1);
    assert.deepEqual(sliceSizes(5, 2), [3, 2]);
    assert.deepEqual(sliceSizes(4, 4), [1, 1, 1, 1]);
    assert.deepEqual(sliceSizes(2, 3), [1, 1]);
  });

  test('slices joined along the same axis give the tensor back, on every axis', () => {
    const random = rng(7);
    const dims = [3, 5, 2, 4];
    const t = { data: Float32Array.from({ length: 120 }, () => random()), dims };
    for (let axis = 0; axis < dims.length; axis++) {
      const sizes = sliceSizes(dims[axis]!, 2);
      const parts = sizes.map((n, i) => sliceAxis(t, axis, i ? sizes[0]! : 0, (i ? sizes[0]! : 0) + n));
      assert.deepEqual(
        parts.map((p) => p.dims[axis]),
        sizes,
      );
      assert.deepEqual(joinAxis(parts, axis), t, `axis ${axis}`);
    }
    // Element (i, j) of a [2, 3] tensor sliced on axis 1 at [1, 3): its columns 1 and 2.
    assert.deepEqual([...sliceAxis({ data: Float32Array.of(0, 1, 2, 3, 4, 5), dims: [2, 3] }, 1, 1, 3).data], [1, 2, 4, 5]);
  });
});

/** Frames and curves of two renders, value for value. */
const same = (a: UnitResult[], b: UnitResult[]) =>
  assert.deepEqual(
    b.map((u) => ({ key: u.key, frames: u.frames.map((f) => [...f]), curve: u.curve, still: u.still })),
    a.map((u) => ({ key: u.key, frames: u.frames.map((f) => [...f]), curve: u.curve, still: u.still })),
  );

describe('a chained render split between worker threads', { skip }, () => {
  const g = mobileNetEngines(() => ort!);
  const engines = {} as { one: OnnxEngine; split: OnnxEngine; oneSmall: OnnxEngine; splitSmall: OnnxEngine };
  before(() => {
    engines.one = new OnnxEngine(g.m75.lowered, { ort: ort!, provider: 'cpu', threads: 1 });
    engines.split = new OnnxEngine(g.m75.lowered, { ort: ort!, provider: 'cpu', threads: 2 });
    engines.oneSmall = new OnnxEngine(g.m25.lowered, { ort: ort!, provider: 'cpu', threads: 1 });
    engines.splitSmall = new OnnxEngine(g.m25.lowered, { ort: ort!, provider: 'cpu', threads: 2 });
  });
  after(() => Object.values(engines).forEach((e) => e.dispose()));

  test('an engine on 2 threads runs a batch of 3 in two parts, a batch of 1 in one session', async () => {
    const b = new GraphBuilder();
    b.input('x', [2]);
    b.rename(b.op1('Neg', ['x']), 'y');
    b.output('y', [2]);
    const compile = () => ({ model: b.encode('neg'), shapes: [], batchAxes: { inputs: { x: 0 }, outputs: { y: 0 } } });
    const split = await engines.split.session('neg', compile, 3);
    assert.ok(split.session instanceof SplitSession);
    assert.ok(!((await engines.split.session('neg', compile, 1)).session instanceof SplitSession));
    assert.ok(!((await engines.one.session('neg', compile, 3)).session instanceof SplitSession));
    const out = await split.session.run({ x: new ort!.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]) });
    assert.deepEqual([...(out.y!.data as Float32Array)], [-1, -2, -3, -4, -5, -6]);
    assert.deepEqual(out.y!.dims, [3, 2]);
  });

  test('lucid filters, K = 4 over 6 steps, batch 3: the same frames and curves as one session', async () => {
    const make = () => lucidPlan('filter', 'conv_pw_5_relu', [0, 4, 30], { steps: 6, frameEvery: 2 });
    const one = await renderBatchChained(make(), { engine: engines.one, pixels: PIXELS }, { stepsPerCall: 4 });
    assert.ok(
      one.every((u) => u.curve.at(-1)! > u.curve[0]!),
      'the units ascend',
    );
    same(one, await renderBatchChained(make(), { engine: engines.split, pixels: PIXELS }, { stepsPerCall: 4 }));
  });

  test('lucid classes whose continuation stops some units early: the same in parts', async () => {
    const maxSteps = 8;
    const make = (): RenderPlan => ({ ...lucidPlan('class', g.m25.logitNode!, [130, 954, 409, 1, 2], { steps: 3, frameEvery: 2, classes: { maxSteps } }), continuation: { maxSteps, margin: -2 } });
    const one = await renderBatchChained(make(), { engine: engines.oneSmall, pixels: PIXELS }, { stepsPerCall: 3 });
    const lengths = one.map((u) => u.curve.length - 1);
    assert.ok(lengths.some((n) => n > 3 && n < maxSteps) && lengths.includes(maxSteps), `steps per unit: ${lengths} (some stop while others continue)`);
    same(one, await renderBatchChained(make(), { engine: engines.splitSmall, pixels: PIXELS }, { stepsPerCall: 3 }));
  });

  test('one step per call splits too: value, gradient and features as one session gives them, for a linear and a non-linear head', async () => {
    const random = rng(11);
    const x = tf.tensor4d(
      Float32Array.from({ length: 3 * 64 * 64 * 3 }, () => random() - 0.5),
      [3, 64, 64, 3],
    );
    try {
      for (const objective of [channelObjective('conv_pw_5_relu', [0, 4, 30], 2), classObjective({ node: g.m75.logitNode!, isLogit: true }, [1, 2, 3], 'probability')]) {
        const [one, split] = [await engines.one.valueAndGrad(objective, x), await engines.split.valueAndGrad(objective, x)];
        assert.deepEqual([...(await split.value.data())], [...(await one.value.data())]);
        assert.deepEqual([...(await split.grad.data())], [...(await one.grad.data())]);
        assert.ok((await one.grad.abs().max().data())[0]! > 0, 'a gradient to compare');
        tf.dispose([one.value, one.grad, split.value, split.grad]);
      }
      const read = [
        { node: 'conv_pw_3_relu', pre: true, redirect: false },
        { node: g.m75.logitNode!, pre: false, redirect: false },
      ];
      const [one, split] = [await engines.one.features(read, x), await engines.split.features(read, x)];
      for (let i = 0; i < read.length; i++) assert.deepEqual([...(await split[i]!.data())], [...(await one[i]!.data())]);
      tf.dispose([...one, ...split]);
    } finally {
      x.dispose();
    }
  });

  test("a part's error reaches the caller with ORT's message; the session runs on; a model ORT refuses fails to open", async () => {
    const b = new GraphBuilder();
    b.input('x', [2]);
    b.rename(b.op1('Neg', ['x']), 'y');
    b.output('y', [2]);
    const session = await SplitSession.create(ort!, b.encode('neg'), { inputs: { x: 0 }, outputs: { y: 0 } }, 2, 1);
    try {
      await assert.rejects(session.run({ x: new ort!.Tensor('float32', new Float32Array(6), [2, 3]) }), /invalid dimensions for input: x/);
      const out = await session.run({ x: new ort!.Tensor('float32', Float32Array.of(1, 2, 3, 4), [2, 2]) });
      assert.deepEqual([...(out.y!.data as Float32Array)], [-1, -2, -3, -4]);
    } finally {
      await session.release();
    }
    await assert.rejects(SplitSession.create(ort!, Uint8Array.of(1, 2, 3), { inputs: {}, outputs: {} }, 2, 1), /ONNX Runtime in a worker thread: .+/);
  });
});
