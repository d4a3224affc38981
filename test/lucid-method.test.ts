/**
 * The lucid method on a real model (MobileNet v1 0.25, wasm): determinism and the curve (batch-equals-alone
 * and leaks: method-contract.test.ts),
 * wiring helpers, and the new objectives. Small sizes and few steps.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { evaluate, preActivation, tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { BatchUnit } from '../pipeline/render/method.ts';
import { lucidMethod, type LucidUnitSettings } from '../pipeline/render/methods/lucid.ts';
import { toCanonicalPixels } from '../pipeline/render/param/color.ts';
import { fourierBasis, initialSpectrum, spectrumToImage, type FourierBasis } from '../pipeline/render/param/fourier.ts';
import { randomAffine, stepSeed } from '../pipeline/render/affine.ts';
import { samplingMap, warp } from '../pipeline/render/sampling-map.ts';
import {
  channelCossimObjective,
  channelObjective,
  channelShareObjective,
  SHARE_SHARPNESS,
  diversityObjective,
  filterObjective,
  negative,
  neuronObjective,
  preActivationChannelObjective,
  preActivationNeuronObjective,
  sum,
  type Objective,
} from '../pipeline/render/objectives.ts';
import { M025, sharedGraph } from './support/fixtures.ts';

const pixels = { range: [-1, 1] as [number, number] };
const LAYER = 'conv_pw_3_relu';
let graph: LeanGraph;

before(async () => {
  graph = await sharedGraph(M025);
});
after(() => graph.dispose());

const small = { pad: 4, jitter: 4, scale: [0.9, 1.1] as [number, number], rotate: 10, jitter2: 2 };

/** A lucid batch: its units and objective, and the lucid settings (small transforms, 48 px, few steps). */
interface LucidBatch {
  units: BatchUnit[];
  objective: Objective;
  settings: LucidUnitSettings;
}

const defaults = lucidMethod.settings(configSchema.parse({ model: { id: 'm', source: 'x' } }), 'filter', { size: [48, 48], capped: true });

function filterBatch(channels: number[], seeds: number[], steps = 4): LucidBatch {
  return {
    units: channels.map((c, i) => ({ key: `lucid/filter/${LAYER}/${c}`, seed: seeds[i]! })),
    objective: channelObjective(LAYER, channels, 1, true),
    settings: { ...defaults, steps, frameEvery: 2, transforms: small },
  };
}

/** The lucid method's parts for the batch, through the one render loop. */
const render = (b: LucidBatch) => renderBatch(lucidMethod.plan(b.settings, b.units, b.objective), { engine: tfjsEngine(graph), pixels });

describe('lucid method', () => {
  // The step's math against a plain composition of TF.js ops (public spectrum layout, TF.js's own
  // colour and sigmoid gradients, the sampling-map warp): equal to float rounding, so the first step
  // moves every pixel by the same bytes (±1). Later steps diverge (measured: after 5 steps up to ~30
  // bytes, 20 steps ~100): Adam divides every coefficient's gradient by its own magnitude, so
  // rounding-level differences in small gradients become whole steps. The same code run from a start
  // spectrum changed by 1 part in 10⁶ diverges as much; the method's quality numbers do not change.
  test('one step equals the same step composed of plain TF.js ops (to a byte)', async () => {
    const b = filterBatch([2, 9], [5, 6], 1);
    let basis: FourierBasis | undefined;
    const plain = {
      init: (units: BatchUnit[], [h, w]: [number, number]) => {
        basis ??= fourierBasis(h, w, b.settings.decay);
        return initialSpectrum(
          units.map((u) => u.seed),
          basis,
          b.settings.sd,
        );
      },
      image: (params: tf.Tensor) => toCanonicalPixels(spectrumToImage(params, basis!)),
      dispose: () => basis?.dispose(),
    };
    const plainTransforms = (units: BatchUnit[], step: number, size: [number, number]) => {
      const affines = units.map((u) => randomAffine(stepSeed(u.seed, step), size, b.settings.transforms));
      const map = samplingMap(affines, size);
      return (x: tf.Tensor4D) => warp(x, map, affines[0]!.out);
    };
    const ours = await render(b);
    const reference = await renderBatch({ ...lucidMethod.plan(b.settings, b.units, b.objective), parameterization: plain, transforms: plainTransforms }, { engine: tfjsEngine(graph), pixels });
    for (const [i, r] of reference.entries()) {
      const o = ours[i]!;
      assert.ok(
        o.curve.every((v, j) => Math.abs(v - r.curve[j]!) <= 1e-4 * Math.max(1, Math.abs(v))),
        `curve ${o.curve} vs ${r.curve}`,
      );
      const moved = r.image.some((v, j) => v !== r.frames[0]![j]);
      assert.ok(moved, 'the step changed the image');
      assert.ok(
        o.image.every((v, j) => Math.abs(v - r.image[j]!) <= 1),
        'final image within a byte',
      );
    }
  });

  test('same seed → same bytes; another seed → another image; the objective rises', async () => {
    const a = await render(filterBatch([3, 7], [11, 12], 6));
    const b = await render(filterBatch([3, 7], [11, 12], 6));
    const c = await render(filterBatch([3, 7], [99, 12], 6));
    // Objective of the first frame (the start image) and of the final image, both untransformed.
    const objectiveOf = (images: Uint8Array[]) =>
      evaluate(
        channelObjective(LAYER, [3, 7], 1, true),
        graph,
        tf.tensor4d(
          Float32Array.from(Buffer.concat(images), (v) => v / 127.5 - 1),
          [2, 48, 48, 3],
        ),
      ).arraySync();
    const start = objectiveOf(a.map((r) => r.frames[0]!));
    const end = objectiveOf(a.map((r) => r.image));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(Buffer.from(a[i]!.image), Buffer.from(b[i]!.image));
      assert.deepEqual(a[i]!.curve, b[i]!.curve);
      assert.equal(a[i]!.frames.length, b[i]!.frames.length);
      a[i]!.frames.forEach((f, k) => assert.deepEqual(Buffer.from(f), Buffer.from(b[i]!.frames[k]!)));
    }
    assert.notDeepEqual(Buffer.from(c[0]!.image), Buffer.from(a[0]!.image));
    assert.deepEqual(Buffer.from(c[1]!.image), Buffer.from(a[1]!.image));
    for (const r of a) {
      assert.equal(r.width, 48);
      assert.equal(r.image.length, 48 * 48 * 3);
      assert.equal(r.curve.length, 7);
      assert.equal(r.frames.length, 4); // steps 0, 2, 4 and the final image
      assert.equal(r.error, undefined);
    }
    a.forEach((r, i) => assert.ok(end[i]! > start[i]! && Math.abs(r.curve[6]! - end[i]!) < 0.05 * Math.abs(end[i]!) + 0.05, `filter ${i}: ${start[i]} → ${end[i]} (curve ${r.curve[6]})`));
  });

  test('settings from the config schema become unit settings and objectives', async () => {
    const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { border: 1, lucid: { steps: 3, filterObjective: 'neuron', negative: true } } });
    assert.equal(configSchema.parse({ model: { id: 'm', source: 'x' } }).render.lucid.steps, 512);
    const s = lucidMethod.settings(config, 'filter', { size: [48, 48], capped: true });
    assert.equal(s.lr, 0.05);
    assert.equal(s.border, 1);
    // Lucid's pixels at 224 px (12, 8, 4) scaled to 48 px; pixels given in the config stay as given.
    // The model sees a window of the image's own size (view: image) unless the config asks for Lucid's padded one.
    assert.deepEqual(s.transforms, { pad: 3, jitter: 2, scale: [0.9, 1.1], rotate: 10, jitter2: 1, view: 'image' });
    assert.deepEqual(lucidMethod.settings(config, 'filter', { size: [224, 224], capped: true }).transforms, { pad: 12, jitter: 8, scale: [0.9, 1.1], rotate: 10, jitter2: 4, view: 'image' });
    const given = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lucid: { transforms: { pad: 12, jitter: 8, jitter2: 4, view: 'window' } } } });
    assert.deepEqual(lucidMethod.settings(given, 'filter', { size: [48, 48], capped: true }).transforms, { pad: 12, jitter: 8, scale: [0.9, 1.1], rotate: 10, jitter2: 4 });
    // The view sets the model's input size: the image's own, or the padded image less both jitters.
    const [image, window] = [s, lucidMethod.settings(given, 'filter', { size: [48, 48], capped: true })].map((u) =>
      lucidMethod.plan(u, [{ key: 'u', seed: 1 }], lucidMethod.objective(u, { kind: 'filter', node: LAYER, indices: [0], isLogit: true })),
    );
    const warped = (plan: typeof image) => tf.tidy(() => plan!.transforms!([{ key: 'u', seed: 1 }], 0, [48, 48])!(tf.zeros([1, 48, 48, 3]) as tf.Tensor4D).shape);
    assert.deepEqual(warped(image!), [1, 48, 48, 3]);
    assert.deepEqual(warped(window!), [1, 48 + 24 - 8 - 4, 48 + 24 - 8 - 4, 3]);
    const objective = lucidMethod.objective(s, { kind: 'filter', node: LAYER, indices: [2], isLogit: true });
    const [r] = await render({ units: [{ key: 'u', seed: 5 }], objective, settings: s });
    assert.equal(r!.curve.length, 4);
    // Negative neuron objective: the final value is minus the centre of channel 2, before its ReLU (lucid's preActivation).
    const x = tf.tensor4d(
      Float32Array.from(r!.image, (v) => v / 127.5 - 1),
      [1, 48, 48, 3],
    );
    assert.equal(s.preActivation, true);
    const centre = evaluate(preActivationNeuronObjective(LAYER, [2]), graph, x).dataSync()[0]!;
    assert.ok(Math.abs(-centre - r!.curve[3]!) < 0.05 * Math.max(1, Math.abs(centre)), `${-centre} vs ${r!.curve[3]}`);
  });
});

describe('objectives for lucid', () => {
  test('neuron = the centre of the activation map; negative negates; sum weights', () => {
    const x = tf.randomUniform([2, 48, 48, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const [act] = graph.run(x, [LAYER]) as [tf.Tensor4D];
    const [, h, w] = act.shape;
    const want = act
      .slice([0, Math.floor(h / 2), Math.floor(w / 2), 0], [2, 1, 1, -1])
      .reshape([2, -1])
      .arraySync() as number[][];
    const got = evaluate(neuronObjective(LAYER, [4, 6], false), graph, x).arraySync();
    assert.deepEqual(got, [want[0]![4], want[1]![6]]);
    const neg = evaluate(negative(neuronObjective(LAYER, [4, 6], false)), graph, x).arraySync();
    assert.deepEqual(
      neg,
      got.map((v) => -v),
    );
    const s = evaluate(sum([neuronObjective(LAYER, [4, 6], false), 2], [channelObjective(LAYER, [4, 6], 1, false), -1]), graph, x).arraySync();
    const ch = evaluate(channelObjective(LAYER, [4, 6], 1, false), graph, x).arraySync();
    s.forEach((v, i) => assert.ok(Math.abs(v - (2 * got[i]! - ch[i]!)) < 1e-4));
  });

  test('pre-activation: clipping it gives the ReLU6 layer; its channel objective can exceed 6', () => {
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const pre = preActivation(graph, x, LAYER);
    const [post] = graph.run(x, [LAYER]);
    const diff = tf.max(tf.abs(pre.clipByValue(0, 6).sub(post!))).dataSync()[0]!;
    assert.ok(diff < 1e-5, `max difference ${diff}`);
    assert.ok(tf.min(pre).dataSync()[0]! < 0); // values below the clip are visible
    const want = tf.mean(pre.slice([0, 1, 1, 0], [2, pre.shape[1]! - 2, pre.shape[2]! - 2, -1]), [1, 2]).arraySync() as number[][];
    const got = evaluate(preActivationChannelObjective(LAYER, [3, 8], 1), graph, x).arraySync();
    assert.ok(Math.abs(got[0]! - want[0]![3]!) < 1e-5 && Math.abs(got[1]! - want[1]![8]!) < 1e-5);
  });

  test('channel × cosine similarity = v_t² / ‖v‖ over channel means of relu(pre-activation)', () => {
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const pre = tf.relu(preActivation(graph, x, LAYER));
    const v = tf.mean(pre.slice([0, 1, 1, 0], [2, pre.shape[1]! - 2, pre.shape[2]! - 2, -1]), [1, 2]).arraySync() as number[][];
    const got = evaluate(channelCossimObjective(LAYER, [3, 8], 1), graph, x).arraySync();
    [3, 8].forEach((t, i) => {
      const norm = Math.hypot(...v[i]!);
      const want = (v[i]![t]! * v[i]![t]!) / norm;
      assert.ok(Math.abs(got[i]! - want) < 1e-4 * Math.max(1, want), `${got[i]} vs ${want}`);
      assert.ok(got[i]! <= v[i]![t]! + 1e-6);
    });
  });

  test("share = log-softmax of k × the layer's channel means of the pre-activation, z-scored across channels, at the target", () => {
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const pre = preActivation(graph, x, LAYER);
    const v = tf.mean(pre.slice([0, 1, 1, 0], [2, pre.shape[1]! - 2, pre.shape[2]! - 2, -1]), [1, 2]).arraySync() as number[][];
    const got = evaluate(channelShareObjective(LAYER, [3, 8], 1), graph, x).arraySync();
    [3, 8].forEach((t, i) => {
      const row = v[i]!;
      const mu = row.reduce((a, b) => a + b, 0) / row.length;
      const sd = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / row.length);
      const z = row.map((val) => (SHARE_SHARPNESS * (val - mu)) / sd);
      const top = Math.max(...z);
      const want = z[t]! - top - Math.log(z.reduce((a, b) => a + Math.exp(b - top), 0));
      assert.ok(Math.abs(got[i]! - want) < 1e-3, `${got[i]} vs ${want}`);
      assert.ok(got[i]! < 0);
    });
    // Per image: a row's value does not depend on the other images of the batch.
    const alone = evaluate(channelShareObjective(LAYER, [8], 1), graph, x.slice([1], [1]) as tf.Tensor4D).arraySync();
    assert.ok(Math.abs(alone[0]! - got[1]!) < 1e-5);
  });

  test('filterObjective names each objective; channel and neuron read the pre-activation only when asked', () => {
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 10) as tf.Tensor4D;
    const o = (preActivation: boolean) => ({ border: 1, redirect: false, preActivation });
    const same = (a: number[], b: number[]) =>
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]!) < 1e-6),
        `${a} vs ${b}`,
      );
    const run = (f: Objective) => evaluate(f, graph, x).arraySync();
    same(run(filterObjective('channel', LAYER, [3, 8], o(false))), run(channelObjective(LAYER, [3, 8], 1, false)));
    same(run(filterObjective('channel', LAYER, [3, 8], o(true))), run(preActivationChannelObjective(LAYER, [3, 8], 1)));
    same(run(filterObjective('neuron', LAYER, [3, 8], o(false))), run(neuronObjective(LAYER, [3, 8], false)));
    same(run(filterObjective('neuron', LAYER, [3, 8], o(true))), run(preActivationNeuronObjective(LAYER, [3, 8])));
    for (const p of [false, true]) {
      same(run(filterObjective('cossim', LAYER, [3, 8], o(p))), run(channelCossimObjective(LAYER, [3, 8], 1)));
      same(run(filterObjective('share', LAYER, [3, 8], o(p))), run(channelShareObjective(LAYER, [3, 8], 1)));
    }
  });

  test('diversity only couples images of one group and is 0 for a lone image', () => {
    const x = tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
    const all = evaluate(diversityObjective(LAYER, [0, 0, 1, 2]), graph, x).arraySync();
    const firstTwo = evaluate(diversityObjective(LAYER, [0, 0]), graph, x.slice([0], [2]) as tf.Tensor4D).arraySync();
    assert.ok(Math.abs(all[0]! - firstTwo[0]!) < 1e-5 && Math.abs(all[1]! - firstTwo[1]!) < 1e-5);
    assert.equal(all[0], all[1]); // symmetric pair
    assert.ok(all[0]! < 0 && all[0]! >= -1 - 1e-6);
    assert.ok(all[2] === 0 && all[3] === 0); // -0 counts
    // Identical images are maximally similar.
    const same = evaluate(diversityObjective(LAYER, [0, 0]), graph, tf.concat([x.slice([0], [1]), x.slice([0], [1])]) as tf.Tensor4D).arraySync();
    assert.ok(Math.abs(same[0]! + 1) < 1e-4);
  });
});
