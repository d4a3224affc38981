/** The lucid method's building blocks: Fourier parameterization, colour, transforms (wasm backend). */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { colorMatrix, colorMatrixT, toCanonicalPixels } from '../pipeline/render/param/color.ts';
import { factorLength, fourierBasis, pixelsOf, rfft2Freqs, spectrumToImage } from '../pipeline/render/param/fourier.ts';
import { copyAffine, randomAffine, STANDARD_TRANSFORMS, stepSeed } from '../pipeline/render/affine.ts';
import { samplingMap, warp } from '../pipeline/render/sampling-map.ts';
import { affineWarp } from '../pipeline/render/transforms.ts';

before(async () => {
  await selectBackend('wasm');
});

/** Naive inverse real 2-D DFT (numpy irfft2 semantics) of re/im [h, k] → [h, w]. */
function naiveIrfft2(re: number[][], im: number[][], h: number, w: number): number[][] {
  const k = Math.floor(w / 2) + 1;
  const out: number[][] = [];
  for (let y = 0; y < h; y++) {
    const row: number[] = [];
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let v = 0; v < h; v++)
        for (let u = 0; u < k; u++) {
          // Hermitian completion: DC and Nyquist columns count once with their real part only.
          const edge = u === 0 || (w % 2 === 0 && u === w / 2);
          const a = 2 * Math.PI * ((v * y) / h + (u * x) / w);
          const term = edge ? re[v]![u]! * Math.cos(a) - im[v]![u]! * Math.sin(a) : 2 * (re[v]![u]! * Math.cos(a) - im[v]![u]! * Math.sin(a));
          s += term;
        }
      row.push(s / (h * w));
    }
    out.push(row);
  }
  return out;
}

describe('fourier parameterization', () => {
  // 6×8, 12×10 and 16×16 go through both factorized steps (rows 2·3, 3·4, 4·4; the half spectrum
  // padded to whole blocks); 7×5 has prime sides (one dense step each).
  for (const [h, w] of [
    [6, 8],
    [7, 5],
    [12, 10],
    [16, 16],
  ] as const) {
    test(`spectrumToImage is irfft2 of the scaled spectrum (${h}×${w}; basis.scale holds irfft2's 1/(hw))`, () => {
      const basis = fourierBasis(h, w);
      const k = basis.k;
      const spectrum = tf.randomNormal([2, 2, 3, h, k], 0, 1, 'float32', 7);
      const img = spectrumToImage(spectrum, basis).arraySync() as number[][][][];
      const s = spectrum.arraySync() as number[][][][][];
      const scale = basis.scale.arraySync();
      for (const b of [0, 1])
        for (const c of [0, 2]) {
          const re = s[b]![0]![c]!.map((row, y) => row.map((v, x) => v * scale[y]![x]!));
          const im = s[b]![1]![c]!.map((row, y) => row.map((v, x) => v * scale[y]![x]!));
          const want = naiveIrfft2(re, im, h, w).map((row) => row.map((v) => v * h * w));
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.ok(Math.abs(img[b]![y]![x]![c]! - want[y]![x]!) < 1e-4, `b${b} c${c} (${y},${x})`);
        }
      basis.dispose();
    });
  }

  test('its custom gradient matches finite differences', () => {
    const basis = fourierBasis(6, 8);
    const spectrum = tf.randomNormal([1, 2, 3, 6, basis.k], 0, 1, 'float32', 3);
    const weights = tf.randomNormal([1, 6, 8, 3], 0, 1, 'float32', 4);
    const f = (s: tf.Tensor) => tf.sum(spectrumToImage(s, basis).mul(weights));
    const grad = tf.grad(f)(spectrum).dataSync();
    const base = spectrum.dataSync();
    for (const i of [0, 5, 17, 40, 77, 100, 143]) {
      const eps = 1e-2;
      const plus = base.slice();
      plus[i]! += eps;
      const minus = base.slice();
      minus[i]! -= eps;
      const num = (f(tf.tensor(plus, spectrum.shape)).dataSync()[0]! - f(tf.tensor(minus, spectrum.shape)).dataSync()[0]!) / (2 * eps);
      assert.ok(Math.abs(num - grad[i]!) < 1e-3 * Math.max(1, Math.abs(num)), `coefficient ${i}: numeric ${num}, analytic ${grad[i]}`);
    }
    basis.dispose();
  });

  test('lengths factor into two near √n (a prime into 1 and itself)', () => {
    assert.deepEqual(factorLength(224), [14, 16]);
    assert.deepEqual(factorLength(128), [8, 16]);
    assert.deepEqual(factorLength(7), [1, 7]);
    for (const n of [1, 2, 12, 96, 100, 113, 227]) {
      const [a, b] = factorLength(n);
      assert.equal(a * b, n);
      assert.ok(b >= Math.sqrt(n) - 1e-9);
    }
  });

  test('the internal parameter layout holds the same coefficients (a permutation, undone exactly)', () => {
    const basis = fourierBasis(12, 10);
    const spectrum = tf.randomNormal([3, 2, 3, 12, basis.k], 0, 1, 'float32', 8);
    const inner = basis.toInternal(spectrum);
    assert.equal(inner.size, spectrum.size);
    assert.deepEqual(Array.from(basis.fromInternal(inner).dataSync()), Array.from(spectrum.dataSync()));
    assert.deepEqual(Array.from(inner.dataSync()).sort(), Array.from(spectrum.dataSync()).sort());
    basis.dispose();
  });

  test('spectrum → pixels in one op equals colour matrix and sigmoid after the transform, value and gradient', () => {
    for (const [h, w] of [
      [16, 16],
      [7, 5],
    ] as const) {
      const basis = fourierBasis(h, w);
      const toPixels = pixelsOf(basis, colorMatrixT());
      const spectrum = tf.randomNormal([2, 2, 3, h, basis.k], 0, 3, 'float32', 11);
      const weights = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 12);
      const inner = basis.toInternal(spectrum);
      const reference = (s: tf.Tensor) => toCanonicalPixels(spectrumToImage(s, basis));
      const got = toPixels.pixels(inner);
      const want = reference(spectrum);
      assert.ok(tf.max(tf.abs(got.sub(want))).dataSync()[0]! < 1e-6);
      // The sigmoid is not saturated everywhere: the gradient check means something.
      assert.ok(tf.max(tf.abs(want)).dataSync()[0]! > 0.1);
      const g = basis.fromInternal(tf.grad((p: tf.Tensor) => tf.sum(toPixels.pixels(p).mul(weights)))(inner));
      // The reference gradient: TF.js's own sigmoid and matMul gradients through the same transform.
      const gWant = tf.grad((s: tf.Tensor) => tf.sum(reference(s).mul(weights)))(spectrum);
      const scale = tf.max(tf.abs(gWant)).dataSync()[0]!;
      assert.ok(scale > 0);
      assert.ok(tf.max(tf.abs(g.sub(gWant))).dataSync()[0]! < 1e-5 * scale, `${h}×${w}`);
      toPixels.dispose();
      basis.dispose();
    }
  });

  test("the columns' unfold kernel equals the full-width products of backends without it (WebGPU, WebGL, tfjs-node), value and gradient", () => {
    const run = () =>
      [
        [16, 16],
        [7, 5],
      ].map(([h, w]) => {
        const basis = fourierBasis(h!, w!);
        const toPixels = pixelsOf(basis, colorMatrixT());
        const inner = basis.toInternal(tf.randomNormal([2, 2, 3, h!, basis.k], 0, 3, 'float32', 21));
        const weights = tf.randomNormal([2, h!, w!, 3], 0, 1, 'float32', 22);
        const value = toPixels.pixels(inner).dataSync().slice();
        const grad = tf
          .grad((p: tf.Tensor) => tf.sum(toPixels.pixels(p).mul(weights)))(inner)
          .dataSync()
          .slice();
        basis.dispose();
        return [value, grad];
      });
    const kernels = ['AtlasUnfoldColumns', 'AtlasUnfoldColumnsAdjoint'].map((name) => tf.getKernel(name, 'wasm')!);
    assert.ok(kernels.every(Boolean));
    const withKernels = run();
    kernels.forEach((k) => tf.unregisterKernel(k.kernelName, 'wasm'));
    try {
      const withOps = run();
      withOps.forEach(([value, grad], i) => {
        value!.forEach((v, j) => assert.ok(Math.abs(v - withKernels[i]![0]![j]!) < 1e-5));
        const scale = Math.max(...grad!.map(Math.abs));
        grad!.forEach((g, j) => assert.ok(Math.abs(g - withKernels[i]![1]![j]!) < 1e-5 * scale));
      });
    } finally {
      kernels.forEach((k) => tf.registerKernel(k));
    }
  });

  test('the scale falls with frequency and is capped at the lowest one', () => {
    const freqs = rfft2Freqs(8, 8);
    assert.equal(freqs[0], 0);
    const basis = fourierBasis(8, 8);
    const scale = basis.scale.dataSync();
    assert.equal(scale[0], scale[1]); // DC is scaled like the lowest frequency 1/8
    assert.ok(scale[1]! > scale[2]! && scale[2]! > scale[4]!);
    basis.dispose();
  });
});

describe('colour', () => {
  test('the decorrelation matrix has unit largest column norm and the sigmoid maps into [-1, 1]', () => {
    const m = colorMatrix();
    const norms = [0, 1, 2].map((j) => Math.hypot(...m.map((r) => r[j]!)));
    assert.ok(Math.abs(Math.max(...norms) - 1) < 1e-6);
    const px = toCanonicalPixels(tf.randomNormal([1, 4, 4, 3], 0, 10, 'float32', 1) as tf.Tensor4D).dataSync();
    assert.ok(px.every((v) => v >= -1 && v <= 1));
    // Zero in the decorrelated space is grey.
    assert.deepEqual(Array.from(toCanonicalPixels(tf.zeros([1, 1, 1, 3]) as tf.Tensor4D).dataSync()), [0, 0, 0]);
  });
});

describe('transforms', () => {
  test('random transforms are seeded and stay within the standard ranges', () => {
    const a = randomAffine(stepSeed(123, 5), [224, 224], STANDARD_TRANSFORMS);
    assert.deepEqual(randomAffine(stepSeed(123, 5), [224, 224], STANDARD_TRANSFORMS), a);
    assert.notDeepEqual(randomAffine(stepSeed(123, 6), [224, 224], STANDARD_TRANSFORMS), a);
    for (let s = 0; s < 200; s++) {
      const t = randomAffine(stepSeed(9, s), [224, 224], STANDARD_TRANSFORMS);
      assert.deepEqual(t.out, [236, 236]);
      assert.ok(t.scale >= 0.9 && t.scale <= 1.1);
      assert.ok(Math.abs(t.angle) <= (10 * Math.PI) / 180 + 1e-12);
      assert.ok(t.shift1.every((v) => Number.isInteger(v) && Math.abs(v) <= 4));
      assert.ok(t.shift2.every((v) => Number.isInteger(v) && Math.abs(v) <= 2));
    }
  });

  test('the identity warp copies the image; an integer shift moves it and fills grey', () => {
    const x = tf.randomUniform([2, 5, 6, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const id = copyAffine([5, 6], [0, 0], 1);
    assert.deepEqual(Array.from(warp(x, samplingMap([id, id], [5, 6]), [5, 6]).dataSync()), Array.from(x.dataSync()));
    const shifted = warp(x, samplingMap([copyAffine([5, 6], [0, 2], 1), id], [5, 6]), [5, 6]).arraySync();
    const src = x.arraySync();
    assert.deepEqual(shifted[0]![3]![4], src[0]![3]![2]);
    assert.deepEqual(shifted[0]![3]![1], [0, 0, 0]);
  });

  test("the warp's custom gradient (scatterND) matches finite differences", () => {
    const t = { ...STANDARD_TRANSFORMS, pad: 3, jitter: 2, jitter2: 2, rotate: 30 };
    const affines = [randomAffine(1, [10, 10], t), randomAffine(2, [10, 10], t)];
    const map = samplingMap(affines, [10, 10]);
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const r = tf.randomNormal([2, ...affines[0]!.out, 3], 0, 1, 'float32', 6);
    const f = (v: tf.Tensor) => tf.sum(warp(v as tf.Tensor4D, map, affines[0]!.out).mul(r));
    const grad = tf.grad(f)(x).dataSync();
    const base = x.dataSync();
    for (const i of [0, 17, 55, 120, 301, 450, 599]) {
      const plus = base.slice();
      plus[i]! += 1e-2;
      const minus = base.slice();
      minus[i]! -= 1e-2;
      const num = (f(tf.tensor4d(plus, x.shape)).dataSync()[0]! - f(tf.tensor4d(minus, x.shape)).dataSync()[0]!) / 2e-2;
      assert.ok(Math.abs(num - grad[i]!) < 1e-3, `pixel ${i}: numeric ${num}, analytic ${grad[i]}`);
    }
  });

  for (const host of [true, false])
    test(`the render loop's warp (${host ? 'JS both ways' : 'Transform kernel, scatterND gradient'}) equals the sampling-map warp, value and gradient`, () => {
      const t = { ...STANDARD_TRANSFORMS, pad: 3, jitter: 2, jitter2: 2, rotate: 30 };
      const affines = [randomAffine(3, [10, 12], t), randomAffine(4, [10, 12], t)];
      const map = samplingMap(affines, [10, 12]);
      const x = tf.randomNormal([2, 10, 12, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const r = tf.randomNormal([2, ...affines[0]!.out, 3], 0, 1, 'float32', 8);
      const got = affineWarp(x, affines, host);
      const want = warp(x, map, affines[0]!.out);
      assert.deepEqual(got.shape, want.shape);
      assert.ok(tf.max(tf.abs(got.sub(want))).dataSync()[0]! < 1e-5);
      // Some output pixels are grey (outside), most are not.
      const zeros = Array.from(got.dataSync()).filter((v) => v === 0).length;
      assert.ok(zeros > 0 && zeros < got.size / 2);
      const g = tf.grad((v: tf.Tensor) => tf.sum(affineWarp(v as tf.Tensor4D, affines, host).mul(r)))(x);
      const gWant = tf.grad((v: tf.Tensor) => tf.sum(warp(v as tf.Tensor4D, map, affines[0]!.out).mul(r)))(x);
      assert.ok(tf.max(tf.abs(g.sub(gWant))).dataSync()[0]! < 1e-5);
      assert.ok(tf.max(tf.abs(gWant)).dataSync()[0]! > 0.1);
    });

  test('the JS warp is a kernel on wasm and cpu (no copies), with the same values and gradient on both', async () => {
    for (const backend of ['wasm', 'cpu']) assert.ok(tf.getKernel('AtlasBilinear', backend), backend);
    const t = { ...STANDARD_TRANSFORMS, pad: 3, jitter: 2, jitter2: 2, rotate: 30 };
    const affines = [randomAffine(5, [10, 12], t), randomAffine(6, [10, 12], t)];
    const x = Float32Array.from({ length: 2 * 10 * 12 * 3 }, (_, i) => Math.sin(i * 0.37));
    const r = Float32Array.from({ length: 2 * affines[0]!.out[0] * affines[0]!.out[1] * 3 }, (_, i) => Math.cos(i * 0.11));
    const run = () => {
      const input = tf.tensor4d(x, [2, 10, 12, 3]);
      const weights = tf.tensor4d(r, [2, ...affines[0]!.out, 3]);
      const value = affineWarp(input, affines, true);
      const grad = tf.grad((v: tf.Tensor) => tf.sum(affineWarp(v as tf.Tensor4D, affines, true).mul(weights)))(input);
      const out = [value.dataSync().slice(), grad.dataSync().slice()];
      tf.dispose([input, weights, value, grad]);
      return out;
    };
    const [wasmValue, wasmGrad] = run();
    await selectBackend('cpu');
    try {
      const [cpuValue, cpuGrad] = run();
      assert.deepEqual(Array.from(cpuValue!), Array.from(wasmValue!));
      assert.deepEqual(Array.from(cpuGrad!), Array.from(wasmGrad!));
    } finally {
      await selectBackend('wasm');
    }
    // The sampling map (gathers and scatterND) agrees.
    const map = samplingMap(affines, [10, 12]);
    const want = warp(tf.tensor4d(x, [2, 10, 12, 3]), map, affines[0]!.out).dataSync();
    want.forEach((v, i) => assert.ok(Math.abs(v - wasmValue![i]!) < 1e-5));
  });

  test("a unit's warp does not depend on its batch", () => {
    const affines = [randomAffine(stepSeed(5, 1), [16, 16], STANDARD_TRANSFORMS), randomAffine(stepSeed(6, 1), [16, 16], STANDARD_TRANSFORMS)];
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const both = affineWarp(x, affines).arraySync();
    const alone = affineWarp(x.slice([1, 0, 0, 0], [1, 16, 16, 3]) as tf.Tensor4D, [affines[1]!]).arraySync();
    assert.deepEqual(both[1], alone[0]);
  });
});
