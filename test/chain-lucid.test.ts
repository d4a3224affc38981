/**
 * Chained lucid steps (engine/onnx/chain-lucid.ts through render/chain-loop.ts) on onnx-cpu make the
 * same units as one step per engine call: same seeds, so the same start spectra and the same random
 * transforms at every step; frames within a byte, curves within float error. For filters (the
 * model seeing the image's own size, and Lucid's padded window), and for classes with continuation.
 * A chain whose transforms are drawn for the wrong steps is told apart. Real MobileNets at 48 px,
 * a few steps.
 *
 * Tolerance. The two paths compute the same math in different orders (ONNX vs TF.js kernels), so
 * their images differ by float rounding (~1e-6), and Adam's normalized update m/√v carries that on
 * at about the same relative size per step; over a handful of steps the frames stay within one
 * byte and the curves within 1e-3 relative. Over hundreds of steps the two ascents may part: Adam's
 * first steps move every coefficient by about ±lr whatever its gradient's size, so a coefficient
 * whose gradient is near float noise goes either way. Some units part at once: `conv_pw_5_relu` 7
 * in the window view at 48 px has curves apart by 2e-3 after one step between the chain and the
 * one-step loop, and by the same between the one-step loop on TF.js's wasm and cpu backends. The
 * units here are ones that both TF.js backends agree on, and the test is short.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderBatchChained } from '../pipeline/render/chain-loop.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { RenderContext, RenderPlan, UnitResult } from '../pipeline/render/method.ts';
import { mobileNetEngines, ortOrSkip } from './support/engine.ts';
import { lucidPlan } from './support/lucid-plan.ts';
import { differences } from './support/render-compare.ts';

const { ort, skip } = await ortOrSkip();

const MARGIN = -2;
const PIXELS = { range: [-1, 1] as [number, number] };

/** Frames that changed over the render (the images do move). */
const moved = (units: UnitResult[]) => units.every((u) => u.frames[0]!.some((v, i) => Math.abs(v - u.frames.at(-1)![i]!) > 8));

describe('chained lucid steps on onnx-cpu equal one step per call', { skip }, () => {
  const g = mobileNetEngines(() => ort!);

  for (const view of ['image', 'window'] as const) {
    test(`filters, the model seeing ${view === 'image' ? "the image's own size" : "Lucid's padded window"}, K = 4 over 6 steps`, async () => {
      const make = () => lucidPlan('filter', 'conv_pw_5_relu', [0, 4, 30], { steps: 6, frameEvery: 2, transforms: { view } });
      const ctx: RenderContext = { engine: g.e75, pixels: PIXELS };
      const one = await renderBatch(make(), ctx);
      assert.ok(
        one.every((u) => u.curve.at(-1)! > u.curve[0]!),
        'the units ascend',
      );
      assert.ok(moved(one), 'the images change');
      assert.deepEqual(differences(one, await renderBatchChained(make(), ctx, { stepsPerCall: 4 })), []);
    });
  }

  test("a chain that draws another step's transforms is told apart", async () => {
    const make = () => lucidPlan('filter', 'conv_pw_5_relu', [0, 7], { steps: 4, frameEvery: 1 });
    const ctx: RenderContext = { engine: g.e75, pixels: PIXELS };
    const one = await renderBatch(make(), ctx);
    const plan = make();
    const units = plan.units.map((u) => ({ ...u, seed: u.seed + 1 }));
    // The start spectra stay the units' own (init reads the plan's units); the transforms come from other seeds.
    const shifted: RenderPlan = { ...plan, parameterization: { ...plan.parameterization, init: (_u, size) => plan.parameterization.init(plan.units, size) }, units };
    const found = differences(
      one.map((u, i) => ({ ...u, key: units[i]!.key })),
      await renderBatchChained(shifted, ctx, { stepsPerCall: 2 }),
    );
    assert.ok(found.some((d) => d.includes('frame')) && found.some((d) => d.includes('curve')), found.join('\n'));
  });

  test('classes with continuation, K = 3', async () => {
    const maxSteps = 8;
    // A few lucid steps at 48 px make no class lead by the default margin: a lower one stops some units early.
    const make = (): RenderPlan => ({ ...lucidPlan('class', g.m25.logitNode!, [130, 954, 409, 1, 2], { steps: 3, frameEvery: 2, classes: { maxSteps } }), continuation: { maxSteps, margin: MARGIN } });
    const ctx: RenderContext = { engine: g.e25, pixels: PIXELS };
    const one = await renderBatch(make(), ctx);
    const lengths = one.map((u) => u.curve.length - 1);
    assert.ok(lengths.some((n) => n > 3 && n < maxSteps) && lengths.includes(maxSteps), `steps per unit: ${lengths} (some stop while others continue)`);
    assert.deepEqual(differences(one, await renderBatchChained(make(), ctx, { stepsPerCall: 3 })), []);
  });
});
