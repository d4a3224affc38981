/**
 * Issue 15: one lucid step on the active backend (wasm by default), by part, at batch 1 and 4,
 * MobileNet v1 0.75 at 224 px: the image from its Fourier coefficients (inverse DFT, colour matrix
 * and sigmoid, forward and gradient), the transform warp (bilinear sampling and its adjoint), the
 * model forward and input gradient (to a mid layer and to the class logits, at the 224-px window the
 * model sees by default, `view: image`), Adam; then the whole step of both methods through
 * the render loop, interleaved (`lucid-steps.ts`). Median CPU ms (this process's user + system time)
 * over `--steps` repetitions; the whole steps also by wall time.
 *
 *   npx tsx bench/lucid-profile.ts [--steps 5] [--json]
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { adam, ADAM_DEFAULTS } from '../pipeline/render/optimizers.ts';
import { colorMatrixT } from '../pipeline/render/param/color.ts';
import { fourierBasis, initialSpectrum, internalToImage, pixelsOf } from '../pipeline/render/param/fourier.ts';
import { toModelInput } from '../pipeline/render/pixels.ts';
import { randomAffine, STANDARD_TRANSFORMS, stepSeed } from '../pipeline/render/affine.ts';
import { affineWarp } from '../pipeline/render/transforms.ts';
import { SHARED_MODELS, arg, loadGraph, wasm } from './lucid-common.ts';
import { lucidStepRows } from './lucid-steps.ts';

const reps = Number(arg('steps', '5'));
const json = process.argv.includes('--json');
const SIZE: [number, number] = [224, 224];
const MID = 'conv_pw_6_relu';

/** This process's CPU time in ms (user + system): on a shared machine, other jobs disturb it far less than wall time. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median CPU ms of `fn` over `reps` runs after one untimed run. */
async function median(fn: () => Promise<void> | void): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = cpuMs();
    await fn();
    times.push(cpuMs() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

/** Runs `f` forward and backward (gradient of Σ f(x)), reading the result back. */
async function fwdBwd(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Promise<void> {
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x));
  await g.data();
  g.dispose();
}

/** Runs `f` forward only, reading the result back. */
async function fwd(f: () => tf.Tensor): Promise<void> {
  const y = tf.tidy(f);
  await y.data();
  y.dispose();
}

await wasm();
const { graph, logitNode } = await loadGraph(path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const pixels = { range: [-1, 1] as [number, number] };
const rows: Record<string, unknown>[] = [];
for (const batch of [1, 4]) {
  const basis = fourierBasis(SIZE[0], SIZE[1], 1);
  const toPixels = pixelsOf(basis, colorMatrixT());
  const seeds = Array.from({ length: batch }, (_, i) => 11 + i);
  const spectrum = initialSpectrum(seeds, basis, 0.01);
  const params = basis.toInternal(spectrum);
  const image = toPixels.pixels(params);
  // The model's view: a window of the image's own size (`view: image`, the default).
  const affines = (step: number) => seeds.map((s) => randomAffine(stepSeed(s, step), SIZE, STANDARD_TRANSFORMS, SIZE));
  const warped = tf.tidy(() => affineWarp(image, affines(0)));
  const input = tf.tidy(() => toModelInput(warped, pixels));
  const opt = adam({ lr: 0.05, ...ADAM_DEFAULTS });
  const parts: [string, () => Promise<void> | void][] = [
    ['fourier transform alone (fwd+grad)', () => fwdBwd((p) => internalToImage(p, basis), params)],
    ['fourier → pixels: + colour, sigmoid (fwd+grad)', () => fwdBwd((p) => toPixels.pixels(p), params)],
    ['fourier → pixels: + colour, sigmoid (fwd)', () => fwd(() => toPixels.pixels(params))],
    ['warp: bilinear sampling and its adjoint (fwd+grad)', () => fwdBwd((x) => affineWarp(x as tf.Tensor4D, affines(1)), image)],
    ['warp: bilinear sampling (fwd)', () => fwd(() => affineWarp(image, affines(1)))],
    [`model → ${MID}, 224 px (fwd+input grad)`, () => fwdBwd((x) => graph.run(x as tf.Tensor4D, [MID])[0]!, input)],
    [`model → ${logitNode}, 224 px (fwd+input grad)`, () => fwdBwd((x) => graph.run(x as tf.Tensor4D, [logitNode])[0]!, input)],
    ['Adam update', () => tf.dispose(opt.step(params, params, 0))],
  ];
  for (const [part, fn] of parts) rows.push({ batch, part, ms: await median(fn) });
  for (const r of await lucidStepRows({ graph, logitNode, backend: tf.getBackend(), model: 'mobilenet_v1_0.75_224', targets: [MID, undefined], size: SIZE[0], batch, rounds: 3, steps: reps + 1 })) {
    rows.push({ batch, part: `whole lucid step, ${r.layer}`, ms: r.lucidMsPerUnitStep * batch, wallMs: r.lucidWallMsPerUnitStep * batch });
    rows.push({ batch, part: `whole lecture step, ${r.layer}`, ms: r.lectureMsPerUnitStep * batch, wallMs: r.lectureWallMsPerUnitStep * batch, ratio: r.ratio });
  }
  tf.dispose([spectrum, params, image, warped, input]);
  toPixels.dispose();
  opt.dispose();
  basis.dispose();
}
for (const r of rows) {
  if (json) console.log(JSON.stringify({ backend: tf.getBackend(), model: 'mobilenet_v1_0.75_224', size: SIZE[0], ...r }));
  else
    console.log(
      `B=${r.batch}  ${String(r.part).padEnd(52)} ${(r.ms as number).toFixed(1).padStart(8)} ms CPU${r.wallMs ? `, ${(r.wallMs as number).toFixed(1)} ms wall${r.ratio ? ` (lucid ÷ lecture, CPU: ${r.ratio as number})` : ''}` : ''}`,
    );
}
