/**
 * Issue 15: one lucid step on the active backend (wasm by default), by part, at batch 1 and 4,
 * MobileNet v1 0.75 at 224 px: the image from its Fourier coefficients, the colour decorrelation
 * and sigmoid, the transform warp (sampling map in JS + gather, and its gradient), the model
 * forward and input gradient (to a mid layer and to the class logits), Adam, and the whole step;
 * beside it the lecture's whole step at the same target. Median ms over `--steps` repetitions.
 *
 *   npx tsx bench/lucid-profile.ts [--steps 5] [--json]
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { Method, MethodSettings } from '../pipeline/render/method.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';
import { channelObjective, classObjective } from '../pipeline/render/objectives.ts';
import { adam, ADAM_DEFAULTS } from '../pipeline/render/optimizers.ts';
import { toCanonicalPixels } from '../pipeline/render/param/color.ts';
import { fourierBasis, initialSpectrum, spectrumToImage } from '../pipeline/render/param/fourier.ts';
import { toModelInput } from '../pipeline/render/pixels.ts';
import { randomTransforms, STANDARD_TRANSFORMS } from '../pipeline/render/transforms.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { SHARED_MODELS, arg, loadGraph, wasm } from './lucid-common.ts';

const reps = Number(arg('steps', '5'));
const json = process.argv.includes('--json');
const SIZE: [number, number] = [224, 224];
const MID = 'conv_pw_6_relu';

async function median(fn: () => Promise<void> | void): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

/** Runs `f` forward and backward (gradient of Σ f(x)·r), reading the result back. */
async function fwdBwd(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Promise<void> {
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x));
  await g.data();
  g.dispose();
}

await wasm();
const { graph, logitNode } = await loadGraph(path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const pixels = { range: [-1, 1] as [number, number] };
const config = configSchema.parse({
  model: { id: 'bench', source: 'x' },
  render: { lucid: { steps: reps + 1, frameEvery: 1000 }, lecture: { filters: { steps: reps + 1 }, classes: { steps: reps + 1 }, frameEvery: 1000 } },
});
const rows: Record<string, unknown>[] = [];
for (const batch of [1, 4]) {
  const basis = fourierBasis(SIZE[0], SIZE[1], 1);
  const units = Array.from({ length: batch }, (_, i) => ({ key: `u${i}`, seed: 11 + i }));
  const spectrum = initialSpectrum(
    units.map((u) => u.seed),
    basis,
    0.01,
  );
  const decorrelated = tf.tidy(() => spectrumToImage(spectrum, basis));
  const image = tf.tidy(() => toCanonicalPixels(decorrelated));
  const transforms = randomTransforms(STANDARD_TRANSFORMS);
  const warped = tf.tidy(() => transforms(units, 0, SIZE)!(image));
  const input = tf.tidy(() => toModelInput(warped, pixels));
  const opt = adam({ lr: 0.05, ...ADAM_DEFAULTS });
  const parts: [string, () => Promise<void> | void][] = [
    ['fourier → image (fwd+grad)', () => fwdBwd((s) => spectrumToImage(s, basis), spectrum)],
    ['colour + sigmoid (fwd+grad)', () => fwdBwd((t) => toCanonicalPixels(t as tf.Tensor4D), decorrelated)],
    ['warp incl. sampling map (fwd+grad)', () => fwdBwd((x) => transforms(units, 1, SIZE)!(x as tf.Tensor4D), image)],
    [`model → ${MID} (fwd+input grad)`, () => fwdBwd((x) => graph.run(x as tf.Tensor4D, [MID])[0]!, input)],
    [`model → ${logitNode} (fwd+input grad)`, () => fwdBwd((x) => graph.run(x as tf.Tensor4D, [logitNode])[0]!, input)],
    ['Adam update', () => tf.dispose(opt.step(spectrum, spectrum, 0))],
  ];
  for (const [part, fn] of parts) rows.push({ batch, part, ms: await median(fn) });
  for (const kind of ['filter', 'class'] as const) {
    for (const id of ['lucid', 'lecture']) {
      const method = METHODS[id] as Method<MethodSettings>;
      const settings = method.settings(config, kind, { size: SIZE, capped: true });
      const objective =
        kind === 'filter'
          ? channelObjective(
              MID,
              units.map((_, i) => i),
              2,
            )
          : classObjective(
              { node: logitNode, isLogit: true },
              units.map((_, i) => i * 100),
              'logit',
            );
      const t0 = performance.now();
      await renderBatch(method.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels });
      const msPerStep = (performance.now() - t0) / (reps + 1);
      rows.push({ batch, part: `whole ${id} step, ${kind === 'filter' ? MID : 'class logits'}`, ms: msPerStep, msPerUnitStep: msPerStep / batch });
    }
  }
  tf.dispose([spectrum, decorrelated, image, warped, input]);
  opt.dispose();
  basis.dispose();
}
for (const r of rows) {
  if (json) console.log(JSON.stringify({ backend: tf.getBackend(), model: 'mobilenet_v1_0.75_224', size: SIZE[0], ...r }));
  else console.log(`B=${r.batch}  ${String(r.part).padEnd(48)} ${(r.ms as number).toFixed(1).padStart(8)} ms${r.msPerUnitStep ? `  (${(r.msPerUnitStep as number).toFixed(1)} ms per unit-step)` : ''}`);
}
