/**
 * Images that say what they show (issue 18): flags forced on a real model with tiny settings, the
 * projected ascent of clipped units, and the class scores.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { evaluate, tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { unchangedShare, unitFlags } from '../pipeline/render/flags.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import { lectureMethod } from '../pipeline/render/methods/lecture.ts';
import { classObjective } from '../pipeline/render/objectives.ts';
import { normalizedAscent, projected } from '../pipeline/render/optimizers.ts';
import { runPipeline } from '../pipeline/run.ts';
import { M025, MODELS, sharedGraph, tempDir, writeConfig } from './support/fixtures.ts';

let graph: LeanGraph;
before(async () => {
  graph = await sharedGraph(M025);
});
after(() => graph.dispose());

test('stalled: most consecutive frames identical; dead filters are only dead', () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([1, 2, 4]);
  assert.equal(unchangedShare([a, b, a, b]), 0);
  assert.equal(unchangedShare([a, b, b, b, b]), 0.75);
  const result = (curve: number[], frames: Uint8Array[]) => ({ key: 'k', image: a, input: a, width: 1, height: 1, frames, curve });
  assert.deepEqual(unitFlags('filter', result([0, 1, 2, 2, 2], [a, b, b, b, b]), undefined), ['stalled']);
  assert.deepEqual(unitFlags('filter', result([0, 0, 0, 0], [a, a, a, a]), undefined), ['dead']);
  assert.deepEqual(unitFlags('class', result([0, 1, 2], [a, b, a]), undefined), []);
  // A unit that never stepped (its objective could not move), and a filter whose objective never changed.
  assert.deepEqual(unitFlags('filter', { ...result([-1.79, -1.79, -1.79], [a, a, a]), still: true }, undefined), ['dead']);
  assert.deepEqual(unitFlags('class', { ...result([2, 2, 2], [a, a, a]), still: true }, undefined), ['dead']);
  assert.deepEqual(unitFlags('filter', result([-1.79087, -1.790871, -1.79087], [a, b, a]), undefined), ['dead']);
  assert.deepEqual(unitFlags('filter', result([-1.79, -1.78, -1.77], [a, b, a]), undefined), []);
});

test('projected ascent keeps the pixels in the valid range and otherwise steps as plain ascent', () => {
  const x = tf.tensor4d([0.95, -0.5, 0.2, -0.99], [1, 2, 2, 1]);
  const g = tf.tensor4d([1, -1, 0.1, -1], [1, 2, 2, 1]);
  const plain = normalizedAscent(0.2).step(x, g, 0);
  const proj = projected(normalizedAscent(0.2)).step(x, g, 0);
  const p = Array.from(proj.dataSync());
  assert.ok(p.every((v) => v >= -1 && v <= 1));
  assert.deepEqual(p, Array.from(tf.clipByValue(plain, -1, 1).dataSync()));
  assert.ok(
    Array.from(plain.dataSync()).some((v) => v > 1 || v < -1),
    'the plain step leaves the range',
  );
});

test("a clipped class unit's curve ends on the objective of the published pixels", async () => {
  const config = configSchema.parse({ model: { id: 'm', source: 'x', score: 'logprob' }, render: { lecture: { classes: { steps: 4 } } } });
  const settings = lectureMethod.settings(config, 'class', { size: [64, 64], capped: false });
  assert.equal(settings.projected, true);
  const objective = classObjective({ node: graph.logitNode!, isLogit: true }, [141], 'logprob');
  const [r] = await renderBatch(lectureMethod.plan(settings, [{ key: 'c', seed: 3 }], objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] } });
  const published = tf.tensor4d(
    Float32Array.from(r!.image, (v) => v / 127.5 - 1),
    [1, 64, 64, 3],
  );
  const penalty = (1e-6 / 2) * tf.sum(tf.square(published)).dataSync()[0]!;
  const value = evaluate(objective, graph, published).dataSync()[0]! - penalty;
  // Within the 8-bit quantization of the PNG.
  assert.ok(Math.abs(value - r!.curve.at(-1)!) < 0.05 * Math.max(1, Math.abs(value)), `${value} vs ${r!.curve.at(-1)}`);
  // logprob is a log-probability: below 0.
  assert.ok(r!.curve.every((v) => v < 0));
});

test('flags forced with tiny settings: stalled at a ReLU6 cap, not with the pre-activation; not-top1 after one step', async () => {
  const dir = await tempDir();
  const model = `model: { id: ${M025}, source: ${path.join(MODELS, M025)} }`;
  const run = async (pre: string, name: string) => {
    const file = await writeConfig(
      dir,
      `${model}\nlayers: { conv_pw_13_relu: [0, 1] }\nclasses: [141]\nrender: { size: 96, backend: wasm, batch: 2, lecture: { preActivation: ${pre}, filters: { steps: 40 }, classes: { steps: 1, maxSteps: 1 } } }\noutput: ${name}\n`,
      `${name}.yaml`,
    );
    return (await runPipeline({ configFile: file, quiet: true, env: {} })).manifest.units;
  };
  const capped = await run('false', 'off');
  const filters = capped.filter((u) => u.kind === 'filter');
  assert.ok(
    filters.every((u) => u.flags.includes('stalled')),
    filters.map((u) => `${u.key}: ${u.flags} ${u.curve.slice(-3)}`).join('; '),
  );
  const cls = capped.find((u) => u.kind === 'class')!;
  assert.equal((cls.quality as { top1IsTarget: boolean }).top1IsTarget, false);
  assert.ok(cls.flags.includes('not-top1'));
  const pre = (await run('auto', 'auto')).filter((u) => u.kind === 'filter');
  assert.ok(
    pre.every((u) => !u.flags.includes('stalled') && (u.settings as { preActivation?: boolean }).preActivation === true),
    pre.map((u) => `${u.key}: ${u.flags}`).join('; '),
  );
  assert.ok(
    pre.every((u) => u.finalObjective > 6),
    'the pre-activation rises past the cap',
  );
});

test("the notes' probability score, chosen with their deprocessing, is their method: no projection, the softmax output maximized", async () => {
  const config = configSchema.parse({ model: { id: 'm', source: 'x', score: 'probability' }, render: { lecture: { classes: { steps: 5, deprocess: 'lecture' } } } });
  const settings = lectureMethod.settings(config, 'class', { size: [64, 64], capped: false });
  assert.equal(settings.projected, undefined, 'unconstrained ascent, as in the notes');
  assert.equal(settings.score, 'probability');
  const objective = lectureMethod.objective(settings, { kind: 'class', node: graph.logitNode!, indices: [141], isLogit: true });
  // Its value is the model's softmax probability of the class.
  const x = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
  const want = tf.softmax(graph.run(x, [graph.logitNode!])[0]!.reshape([1, -1])).arraySync() as number[][];
  assert.ok(Math.abs(evaluate(objective, graph, x).arraySync()[0]! - want[0]![141]!) < 1e-6);
  // The curve: that probability minus the notes' tiny L2 term. From noise it barely moves: the
  // gradient of a tiny probability vanishes (why logprob exists).
  const [r] = await renderBatch(lectureMethod.plan(settings, [{ key: 'c', seed: 4 }], objective), { engine: tfjsEngine(graph), pixels: { range: [-1, 1] } });
  assert.ok(
    r!.curve.every((v) => v > -0.01 && v < 1),
    r!.curve.join(', '),
  );
});
