/**
 * The scaled Fourier parameterization: an image is the inverse real 2-D DFT of a spectrum whose
 * coefficients are scaled by 1/frequency^decay, so that every frequency has about the same effect
 * on the objective (plain pixels favour high frequencies). Olah et al., "Feature Visualization".
 *
 * TF.js's wasm backend has no FFT kernels, so the inverse DFT is built from matrix products. Along
 * rows (y), a complex inverse DFT of length n = N1·N2 in two small steps (the "four-step"
 * factorization): a DFT of length N1 over the coarse input index, a twiddle factor, a DFT of length
 * N2 over the fine one (the first step's outputs kept twice, (Re, Im, Im, Re), so that the twiddle is
 * one elementwise product; the second gives the real and the imaginary parts as two products).
 * Along columns (x), the inverse real DFT of the half spectrum (Hermitian weights 1 for the DC and
 * Nyquist columns, 2 otherwise, folded into the scale; their imaginary parts dropped like numpy's
 * irfft2) as two dense products over the columns x ≤ w/2, an even (Re·cos) and an odd (Im·(−sin))
 * part, unfolded to the whole row by a kernel of ours (`rowsAndColumnsStep`; GPU backends, where the
 * number of ops counts more than multiply-adds, take two products over all w). Measured on wasm at
 * batch 4, 224 px, forward + gradient: 26 ms, against 31 with one dense product over all columns and
 * 34 with the columns factorized too (padding, twiddle and 5-axis transposes cost more than the
 * multiply-adds they save). It is exactly irfft2 (to float rounding); every product has a constant
 * right operand (packed once by XNNPACK on wasm), and every transpose has at most 4 axes (wasm's
 * 5- and 6-axis transposes are several times slower). The transform is linear: its gradient is the
 * chain of the steps' adjoints, written out (`LinearStep`). Every row of every product belongs to
 * one image, so an image's values do not depend on its batch.
 *
 * Two layouts: the public spectrum [B, 2, 3, h, k] (real/imaginary, colour channel, rows, half
 * columns; `initialSpectrum`, `spectrumToImage`) and the parameterization's own layout
 * [B, 3, k, N2, 2, N1] (`toInternal`), where h = N1·N2 and row p = N2·p1 + p2: the first product
 * reads it as is. Adam is elementwise, so the layout of the parameters does not change a result.
 */
import * as tf from '@tensorflow/tfjs';
import { fourierConstants } from './dft.ts';
import { rowsAndColumnsStep } from './fourier-columns.ts';
import { constPair, matmulStep, scaleStep, transposeStep, type LinearStep } from './linear-steps.ts';

export { factorLength, rfft2Freqs } from './dft.ts';

export interface FourierBasis {
  h: number;
  w: number;
  /** Columns of the half spectrum: w/2 + 1. */
  k: number;
  /** Spectrum scale [h, k]: 1/max(f, 1/max(h,w))^decay · √(hw), times irfft2's 1/(hw) and Lucid's 1/4. */
  scale: tf.Tensor2D;
  /** The spectrum's own layout [B, 3, k, n2, 2, n1] (h = n1·n2) from the public [B, 2, 3, h, k], and back. */
  toInternal(spectrum: tf.Tensor): tf.Tensor;
  fromInternal(params: tf.Tensor): tf.Tensor;
  /** The transform as linear steps: internal-layout spectra → image [B, h, w, 3]. */
  steps: LinearStep[];
  dispose(): void;
}

/**
 * The constants of the transform for an h×w image (`fourierConstants`) as tensors, and the steps
 * and layout changes between them.
 */
export function fourierBasis(h: number, w: number, decay = 1): FourierBasis {
  const c = fourierConstants(h, w, decay);
  const k = c.k;
  const y = { n1: c.n1, n2: c.n2, first: constPair(c.first), twiddle: tf.tensor2d(c.twiddle.data, [c.twiddle.rows, c.twiddle.cols]), re: constPair(c.re), im: constPair(c.im) };
  const x = { even: constPair(c.even), odd: constPair(c.odd), cos: constPair(c.cos), sin: constPair(c.sin) };
  const scale = c.scale.data;
  const innerScale = tf.tensor1d(c.innerScale);
  const tiles = [new Map<number, tf.Tensor>(), new Map<number, tf.Tensor>()];
  const steps: LinearStep[] = [
    scaleStep(innerScale, tiles[0]!),
    // Rows: the DFT over p1 to (r1, s), its twiddle, then (p2, r1) → (r1, p2).
    matmulStep(...y.first),
    scaleStep(y.twiddle, tiles[1]!),
    transposeStep([y.n2, y.n1, 4], [1, 0, 2]),
    // The DFT over p2, then the columns: [B·3, k, n1, n2, 4] → [B, h, w, 3].
    rowsAndColumnsStep({ re: y.re, im: y.im, ...x }, k, y.n1, y.n2, w),
  ];
  const [n1, n2] = [y.n1, y.n2];
  const owned: tf.Tensor[] = [innerScale, ...y.first, y.twiddle, ...y.re, ...y.im, ...x.even, ...x.odd, ...x.cos, ...x.sin];
  const basis: FourierBasis = {
    h,
    w,
    k,
    scale: tf.tensor2d(scale, [h, k]),
    toInternal: (s) => tf.tidy(() => s.reshape([-1, 2, 3, n1, n2, k]).transpose([0, 2, 5, 4, 1, 3])),
    fromInternal: (p) => tf.tidy(() => p.reshape([-1, 3, k, n2, 2, n1]).transpose([0, 4, 1, 5, 3, 2]).reshape([-1, 2, 3, h, k])),
    steps,
    dispose() {
      tf.dispose([basis.scale, ...owned, ...tiles.flatMap((m) => [...m.values()])]);
    },
  };
  return basis;
}

/** Internal-layout spectra [B, 3, k, n2, 2, n1] → image [B, h, w, 3] (decorrelated colour, before the sigmoid). */
export function internalToImage(params: tf.Tensor, basis: FourierBasis): tf.Tensor4D {
  const b = params.shape[0]!;
  const op = tf.customGrad(((p: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const value = basis.steps.reduce((x, s) => s.forward(x), p);
    return {
      value: value.reshape([b, basis.h, basis.w, 3]),
      gradFunc: (dy: tf.Tensor) => basis.steps.reduceRight((g, s) => s.adjoint(g), dy).reshape(p.shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => op(params) as tf.Tensor4D);
}

/**
 * Internal-layout spectra → canonical pixels [B, h, w, 3] in [-1, 1]: the transform, the colour
 * matrix per pixel (`colorT`: Mᵀ [3, 3], row vectors t·Mᵀ) and 2·sigmoid − 1 (Lucid's
 * `to_valid_rgb`; the same as tanh(t/2), but wasm's tanh is ten times slower), as one op. Its
 * gradient: dy·(1 − y²)/2 (the sigmoid's, from its output y), the ½ folded into the colour
 * matrix's transpose, then the transform's adjoint. The caller owns the returned function's
 * constants (`dispose`).
 */
export function pixelsOf(basis: FourierBasis, colorT: number[][]): { pixels: (params: tf.Tensor) => tf.Tensor4D; dispose(): void } {
  const [m, mT] = constPair({ data: Float32Array.from(colorT.flat()), rows: 3, cols: 3 });
  const halfMT = tf.tidy(() => mT.mul(0.5)) as tf.Tensor2D;
  mT.dispose();
  const { h, w } = basis;
  const op = tf.customGrad(((p: tf.Tensor, save: tf.GradSaveFunc) => {
    const t = tf.matMul(basis.steps.reduce((x, s) => s.forward(x), p).reshape([-1, 3]) as tf.Tensor2D, m);
    const y = tf.sigmoid(t).mul(2).sub(1);
    save([y]);
    return {
      value: y.reshape([p.shape[0]!, h, w, 3]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = dy.reshape([-1, 3]);
        const yy = saved[0]!;
        const dt = tf.matMul(tf.sub(d, d.mul(yy).mul(yy)) as tf.Tensor2D, halfMT);
        return basis.steps.reduceRight((g, s) => s.adjoint(g), dt as tf.Tensor).reshape(p.shape);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return {
    pixels: (params) => tf.tidy(() => op(params) as tf.Tensor4D),
    dispose: () => tf.dispose([m, halfMT]),
  };
}

/**
 * Spectrum → image. `spectrum`: [B, 2, 3, h, k] (real and imaginary parts of each colour
 * channel's half spectrum, unscaled); returns [B, h, w, 3] (decorrelated colour, before the sigmoid).
 */
export function spectrumToImage(spectrum: tf.Tensor, basis: FourierBasis): tf.Tensor4D {
  return tf.tidy(() => internalToImage(basis.toInternal(spectrum), basis));
}

/** Seeded start spectrum, N(0, sd²) per coefficient, one [2, 3, h, k] block per seed (drawn in JS: same on every backend). */
export function initialSpectrum(seeds: number[], basis: FourierBasis, sd = 0.01): tf.Tensor {
  return tf.tidy(() => tf.stack(seeds.map((s) => tf.randomNormal([2, 3, basis.h, basis.k], 0, sd, 'float32', s))));
}
