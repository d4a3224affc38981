/**
 * Lucid's step parts as ONNX graph emitters (`pipeline/render/onnx/`) against the TF.js path on
 * onnx-cpu: the Fourier parameterization with colour and sigmoid, the random warp and Adam — values, and VJPs against TF.js's gradients of ⟨output, dy⟩ for a random dy
 * (a flipped sign or a transposed constant changes them at order 1). Skipped only where
 * onnxruntime-node cannot load.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { GraphBuilder } from '../pipeline/engine/onnx/builder.ts';
import { randomAffine, stepSeed, transformParams, type TransformSettings } from '../pipeline/render/affine.ts';
import { adamPart, adamScalars } from '../pipeline/render/onnx/adam.ts';
import { fourierParamShape, fourierPixels } from '../pipeline/render/onnx/fourier-pixels.ts';
import type { Part } from '../pipeline/render/onnx/part.ts';
import { affineWarpPart } from '../pipeline/render/onnx/warp.ts';
import { adam, ADAM_DEFAULTS } from '../pipeline/render/optimizers.ts';
import { colorMatrixT } from '../pipeline/render/param/color.ts';
import { fourierBasis, initialSpectrum, pixelsOf } from '../pipeline/render/param/fourier.ts';
import { affineWarp } from '../pipeline/render/transforms.ts';
import { relErr, ortOrSkip } from './support/engine.ts';

const { ort, skip } = await ortOrSkip();

before(async () => {
  await selectBackend('cpu');
});

type Feeds = Record<string, [Float32Array, number[]]>;

/** Builds a graph of one part (input `x` of `inShape`, a `dy` of `outShape`), runs it: [y, dx]. */
async function runPart(inShape: number[], outShape: number[], emit: (b: GraphBuilder, x: string) => Part, feeds: Feeds, extra: Record<string, number[]> = {}): Promise<[Float32Array, Float32Array]> {
  const b = new GraphBuilder();
  b.input('x', inShape.slice(1));
  for (const [name, dims] of Object.entries(extra)) b.input(name, dims.slice(1));
  b.input('dy', outShape.slice(1));
  const part = emit(b, 'x');
  b.rename(part.out, 'y');
  b.output('y', outShape.slice(1));
  b.rename(part.vjp('dy'), 'dx');
  b.output('dx', inShape.slice(1));
  const out = await runModel(b, feeds);
  return [out.y!, out.dx!];
}

async function runModel(b: GraphBuilder, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort!.InferenceSession.create(b.encode('part'), { executionProviders: ['cpu'] });
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, [data, dims]]) => [k, new ort!.Tensor('float32', data, dims)]));
  const out = await session.run(inputs);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
}

/** TF.js value of f at x and the gradient of ⟨f(x), dy⟩. */
function reference(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const y = f(x);
    const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(f(p), dy)))(x);
    return [y.dataSync() as Float32Array, g.dataSync() as Float32Array];
  });
}

const random = (shape: number[], seed: number, sd = 1) => tf.randomNormal(shape, 0, sd, 'float32', seed);
const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string) {
  const e = relErr(got, want);
  assert.ok(e < tol, `${what}: relative error ${e.toExponential(2)} (tolerance ${tol})`);
}

describe('lucid step parts in ONNX', { skip }, () => {
  // 12×10: rows factorized 3·4; 16×16: 4·4 with an even w (Nyquist column); 7×5: prime sides (n1 = 1).
  for (const [h, w] of [
    [12, 10],
    [16, 16],
    [7, 5],
  ] as [number, number][]) {
    test(`spectra → pixels (Fourier, colour, sigmoid) equals pixelsOf, value and VJP (${h}×${w})`, async () => {
      const basis = fourierBasis(h, w, 1);
      const toPixels = pixelsOf(basis, colorMatrixT());
      // A start spectrum 100× Lucid's sd: the sigmoid away from its linear middle.
      const params = tf.tidy(() => basis.toInternal(initialSpectrum([3, 4], basis, 1)));
      const shape = [2, ...fourierParamShape(h, w)];
      assert.deepEqual(params.shape, shape);
      const dy = random([2, 3, h, w], 5);
      const [want, wantGrad] = reference((p) => toPixels.pixels(p).transpose([0, 3, 1, 2]), params, dy);
      const [y, dx] = await runPart(shape, [2, 3, h, w], (b, x) => fourierPixels(b, x, { h, w, decay: 1, colorT: colorMatrixT() }), { x: [data(params), shape], dy: [data(dy), [2, 3, h, w]] });
      assertClose(y, want, 1e-5, 'pixels');
      assertClose(dx, wantGrad, 1e-5, 'VJP');
      assert.ok(Math.max(...want.map(Math.abs)) > 0.3, 'the pixels leave the sigmoid’s linear middle');
      tf.dispose([params, dy]);
      toPixels.dispose();
      basis.dispose();
    });
  }

  test("the warp equals the render loop's (JS bilinear), value and VJP, with grey outside", async () => {
    const [h, w] = [10, 12];
    const t: TransformSettings = { pad: 4, jitter: 4, scale: [0.8, 1.2], rotate: 30, jitter2: 2 };
    const affines = [11, 12, 13].map((s) => randomAffine(stepSeed(s, 3), [h, w], t));
    const out = affines[0]!.out;
    const x = random([3, 3, h, w], 7);
    const dy = random([3, 3, ...out], 8);
    // The graph's images are NCHW, the loop's NHWC.
    const [want, wantGrad] = reference((v) => affineWarp(v.transpose([0, 2, 3, 1]) as tf.Tensor4D, affines, true).transpose([0, 3, 1, 2]), x, dy);
    const params = Float32Array.from(affines.flatMap((a) => transformParams(a, [h, w]).slice(0, 6)));
    const [y, dx] = await runPart(
      [3, 3, h, w],
      [3, 3, ...out],
      (b, v) => affineWarpPart(b, v, 'affine', [h, w], out),
      { x: [data(x), [3, 3, h, w]], dy: [data(dy), [3, 3, ...out]], affine: [params, [3, 6]] },
      { affine: [3, 6] },
    );
    assertClose(y, want, 1e-5, 'warp');
    assertClose(dx, wantGrad, 1e-5, 'adjoint');
    assert.ok(
      want.some((v) => v === 0),
      'some output pixels fall outside the image (grey)',
    );
    tf.dispose([x, dy]);
  });

  test("Adam's update equals the TF.js optimizer's over several steps (bits aside)", async () => {
    const o = { lr: 0.05, ...ADAM_DEFAULTS };
    const b = new GraphBuilder();
    for (const name of ['p', 'g', 'm', 'v']) b.input(name, [5]);
    b.input('eps', []);
    b.input('rate', []);
    const next = adamPart(b, o, { params: 'p', grad: 'g', m: 'm', v: 'v', eps: 'eps', rate: 'rate' });
    for (const [name, t] of Object.entries(next)) {
      b.rename(t, `${name}1`);
      b.output(`${name}1`, [5]);
    }
    const opt = adam(o);
    let params = random([2, 5], 1);
    let state: { p: Float32Array; m: Float32Array; v: Float32Array } = { p: data(params), m: new Float32Array(10), v: new Float32Array(10) };
    for (let step = 0; step < 4; step++) {
      // Gradients of very different sizes per step: Adam moves each coordinate by about lr regardless.
      const g = random([2, 5], 10 + step, 10 ** (step - 2));
      const want = opt.step(params, g, step);
      const [eps, rate] = adamScalars(o, step);
      const out = await runModel(b, { p: [state.p, [2, 5]], g: [data(g), [2, 5]], m: [state.m, [2, 5]], v: [state.v, [2, 5]], eps: [Float32Array.of(eps), [1]], rate: [Float32Array.of(rate), [1]] });
      assertClose(out.params1!, data(want), 1e-6, `step ${step}`);
      assert.ok(relErr(out.params1!, state.p) > 1e-3, 'the parameters move');
      state = { p: out.params1!, m: out.m1!, v: out.v1! };
      tf.dispose([params, g]);
      params = want;
    }
    params.dispose();
    opt.dispose();
  });
});
