/**
 * The scaled Fourier parameterization: an image is the inverse real 2-D DFT of a spectrum whose
 * coefficients are scaled by 1/frequency^decay, so that every frequency has about the same effect
 * on the objective (plain pixels favour high frequencies). Olah et al., "Feature Visualization".
 *
 * TF.js's wasm backend has no FFT kernels, so the inverse real DFT is two batched matrix products
 * with precomputed cos/sin matrices: along rows a full complex inverse DFT, along columns the
 * inverse real DFT (Hermitian weights 1 for the DC and Nyquist columns, 2 otherwise; their imaginary
 * parts drop out like numpy's irfft2). It is exactly irfft2, differentiable everywhere, and every
 * image of a batch is its own matrix product, so an image's values do not depend on its batch.
 */
import * as tf from '@tensorflow/tfjs';

/** Radial frequency (cycles per pixel) of each rfft2 coefficient, [h, w/2+1] row-major. */
export function rfft2Freqs(h: number, w: number): Float32Array {
  const k = Math.floor(w / 2) + 1;
  const out = new Float32Array(h * k);
  for (let y = 0; y < h; y++) {
    const fy = (y <= (h - 1) / 2 ? y : y - h) / h; // numpy fftfreq
    for (let x = 0; x < k; x++) out[y * k + x] = Math.hypot(fy, x / w);
  }
  return out;
}

export interface FourierBasis {
  h: number;
  w: number;
  /** Columns of the half spectrum: w/2 + 1. */
  k: number;
  /** Spectrum scale [h, k]: 1/max(f, 1/max(h,w))^decay · √(hw), times irfft2's 1/(hw) and Lucid's 1/4. */
  scale: tf.Tensor2D;
  cosY: tf.Tensor2D;
  sinY: tf.Tensor2D;
  /** [k, w]: Hermitian weight · cos, and Hermitian weight · sin. */
  cosX: tf.Tensor2D;
  sinX: tf.Tensor2D;
  /** Their transposes [w, k] (for the gradient). */
  cosXT: tf.Tensor2D;
  sinXT: tf.Tensor2D;
  dispose(): void;
}

export function fourierBasis(h: number, w: number, decay = 1): FourierBasis {
  const k = Math.floor(w / 2) + 1;
  const freqs = rfft2Freqs(h, w);
  const floor = 1 / Math.max(h, w);
  const norm = Math.sqrt(h * w) / (h * w) / 4;
  const scale = Float32Array.from(freqs, (f) => norm / Math.max(f, floor) ** decay);
  const cy = new Float32Array(h * h);
  const sy = new Float32Array(h * h);
  for (let r = 0; r < h; r++)
    for (let q = 0; q < h; q++) {
      const a = (2 * Math.PI * ((r * q) % h)) / h;
      cy[r * h + q] = Math.cos(a);
      sy[r * h + q] = Math.sin(a);
    }
  const cx = new Float32Array(k * w);
  const sx = new Float32Array(k * w);
  for (let q = 0; q < k; q++) {
    const weight = q === 0 || (w % 2 === 0 && q === w / 2) ? 1 : 2;
    for (let c = 0; c < w; c++) {
      const a = (2 * Math.PI * ((q * c) % w)) / w;
      cx[q * w + c] = weight * Math.cos(a);
      sx[q * w + c] = weight * Math.sin(a);
    }
  }
  const basis = {
    h,
    w,
    k,
    scale: tf.tensor2d(scale, [h, k]),
    cosY: tf.tensor2d(cy, [h, h]),
    sinY: tf.tensor2d(sy, [h, h]),
    cosX: tf.tensor2d(cx, [k, w]),
    sinX: tf.tensor2d(sx, [k, w]),
    cosXT: tf.tidy(() => tf.tensor2d(cx, [k, w]).transpose()) as tf.Tensor2D,
    sinXT: tf.tidy(() => tf.tensor2d(sx, [k, w]).transpose()) as tf.Tensor2D,
    dispose() {
      for (const t of [basis.scale, basis.cosY, basis.sinY, basis.cosX, basis.sinX, basis.cosXT, basis.sinXT]) t.dispose();
    },
  };
  return basis;
}

/**
 * Spectrum → image. `spectrum`: [B, 2, 3, h, k] (real and imaginary parts of each colour
 * channel's half spectrum, unscaled); returns [B, h, w, 3] (decorrelated colour, before the sigmoid).
 */
export function spectrumToImage(spectrum: tf.Tensor, basis: FourierBasis): tf.Tensor4D {
  const [b] = spectrum.shape as number[];
  const { h, w, k } = basis;
  const n = b! * 3;
  // Plain 2-D matrix products without transpose flags (wasm's broadcasting batched matMul and its
  // transposed products are far slower), with the adjoint written out for the gradient. Each output
  // element is one dot product over its own image's coefficients, whatever the batch.
  const op = tf.customGrad(((coeffs: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    // [B, 2, 3, h, k] → [h, 2·B·3·k]: the row transform sees every image's columns at once.
    const cols = coeffs.transpose([3, 1, 0, 2, 4]).reshape([h, 2 * n * k]) as tf.Tensor2D;
    const [re, im] = tf.split(cols, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    // Along rows (y): complex inverse DFT, T = E_y · S with E_y = cos + i·sin.
    const tr = tf.sub(tf.matMul(basis.cosY, re), tf.matMul(basis.sinY, im));
    const ti = tf.add(tf.matMul(basis.sinY, re), tf.matMul(basis.cosY, im));
    // Along columns (x): inverse real DFT, x = Re(T · E_x) with Hermitian weights. [h, n, k] → [h·n, k].
    const rows = (t: tf.Tensor) => t.reshape([h * n, k]) as tf.Tensor2D;
    const img = tf.sub(tf.matMul(rows(tr), basis.cosX), tf.matMul(rows(ti), basis.sinX));
    return {
      value: img.reshape([h, b!, 3, w]).transpose([1, 0, 3, 2]),
      gradFunc: (dy: tf.Tensor) => {
        // Adjoint, step by step (cosY and sinY are symmetric).
        const dRows = dy.transpose([1, 0, 3, 2]).reshape([h * n, w]) as tf.Tensor2D;
        const dTr = tf.matMul(dRows, basis.cosXT).reshape([h, n * k]) as tf.Tensor2D;
        const dTi = tf.neg(tf.matMul(dRows, basis.sinXT)).reshape([h, n * k]) as tf.Tensor2D;
        const dRe = tf.add(tf.matMul(basis.cosY, dTr), tf.matMul(basis.sinY, dTi));
        const dIm = tf.sub(tf.matMul(basis.cosY, dTi), tf.matMul(basis.sinY, dTr));
        return tf.concat([dRe, dIm], 1).reshape([h, 2, b!, 3, k]).transpose([2, 1, 3, 0, 4]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => op(spectrum.mul(basis.scale)) as tf.Tensor4D);
}

/** Seeded start spectrum, N(0, sd²) per coefficient, one [2, 3, h, k] block per seed (drawn in JS: same on every backend). */
export function initialSpectrum(seeds: number[], basis: FourierBasis, sd = 0.01): tf.Tensor {
  return tf.tidy(() => tf.stack(seeds.map((s) => tf.randomNormal([2, 3, basis.h, basis.k], 0, sd, 'float32', s))));
}
