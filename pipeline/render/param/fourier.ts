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
import { registerHostKernel, runHostKernel } from '../host-kernels.ts';

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

/** n = n1·n2 with n2 the smallest divisor ≥ √n (n1 = 1 for a prime n: one dense step). */
export function factorLength(n: number): [number, number] {
  for (let n2 = Math.ceil(Math.sqrt(n)); n2 <= n; n2++) if (n % n2 === 0) return [n / n2, n2];
  return [1, n];
}

/** A linear map of tensors and its adjoint (the transpose), both pure tensor functions. */
interface LinearStep {
  forward: (x: tf.Tensor) => tf.Tensor;
  adjoint: (dy: tf.Tensor) => tf.Tensor;
}

/** x as rows of K · m [K, N] → [rows, N], a 2-D product with the constant on the right; adjoint with mT [N, K]. */
function matmulStep(m: tf.Tensor2D, mT: tf.Tensor2D): LinearStep {
  const apply = (x: tf.Tensor, c: tf.Tensor2D) => tf.matMul(x.reshape([-1, c.shape[0]]) as tf.Tensor2D, c);
  return { forward: (x) => apply(x, m), adjoint: (dy) => apply(dy, mT) };
}

/**
 * Elementwise product with a constant t, x read as [rows, ...t.shape] (self-adjoint). The constant
 * is tiled to x's size once per size and kept (wasm's broadcasting product is several times slower
 * than the same-shape one); `kept` collects the tiles for the basis to dispose.
 */
function scaleStep(t: tf.Tensor, kept: Map<number, tf.Tensor>): LinearStep {
  const apply = (x: tf.Tensor) => {
    let full = kept.get(x.size);
    if (!full) {
      full = tf.keep(tf.tidy(() => tf.tile(t.reshape([1, t.size]), [x.size / t.size, 1])));
      kept.set(x.size, full);
    }
    return tf.mul(x.reshape(full.shape), full);
  };
  return { forward: apply, adjoint: apply };
}

/** Reshape to `shape` [...], transpose by `perm`; the adjoint undoes both. */
function transposeStep(shape: number[], perm: number[]): LinearStep {
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return {
    forward: (x) => {
      const lead = x.size / shape.reduce((a, b) => a * b, 1);
      return x.reshape([lead, ...shape]).transpose([0, ...perm.map((p) => p + 1)]);
    },
    adjoint: (dy) => {
      const lead = dy.size / shape.reduce((a, b) => a * b, 1);
      return dy.reshape([lead, ...perm.map((p) => shape[p]!)]).transpose([0, ...inverse.map((p) => p + 1)]);
    },
  };
}

/**
 * Attributes of the columns' unfold: `part` for the adjoint (the even or the odd half's gradient).
 * X[x] = E[x] + O[x] for x ≤ w/2, and X[w − x] = E[x] − O[x] (cos is even in x, sin odd).
 */
interface UnfoldAttrs {
  h: number;
  w: number;
  part?: 'even' | 'odd';
}

const UNFOLD = 'AtlasUnfoldColumns';
const UNFOLD_ADJOINT = 'AtlasUnfoldColumnsAdjoint';

/** Each row r of E/O [B·3·h, k] (image b, channel c, row y): its offset r·k and its x = 0 pixel's offset in [B, h, w, 3] (kept per shape: the kernels run every step). */
const offsetTables = new Map<string, [number, number][]>();
function rowOffsets(rows: number, h: number, w: number, k: number): [number, number][] {
  const key = `${rows} ${h} ${w} ${k}`;
  let table = offsetTables.get(key);
  if (!table) {
    table = Array.from({ length: rows }, (_, r) => [r * k, (Math.floor(r / (3 * h)) * h + (r % h)) * w * 3 + (Math.floor(r / h) % 3)]);
    offsetTables.set(key, table);
  }
  return table;
}

// E, O [B·3·h, k] → X [B, h, w, 3]: each row of E and O is one (image, channel, y).
registerHostKernel<UnfoldAttrs>(
  UNFOLD,
  ['e', 'o'],
  ([e], { h, w }) => [e![0]! / (3 * h), h, w, 3],
  ([e, o], out, { h, w }, [shape]) => {
    const k = shape![1]!;
    const [ev, od] = [e!, o!];
    for (const [row, pixel] of rowOffsets(shape![0]!, h, w, k)) {
      for (let x = 0; x < k; x++) out[pixel + x * 3] = ev[row + x]! + od[row + x]!;
      for (let x = 1; x < w - k + 1; x++) out[pixel + (w - x) * 3] = ev[row + x]! - od[row + x]!;
    }
  },
);
// dX [B, h, w, 3] → dE or dO [B·3·h, k]: dX[x] ± dX[w − x].
registerHostKernel<UnfoldAttrs>(
  UNFOLD_ADJOINT,
  ['dy'],
  ([dy], { w }) => [dy![0]! * 3 * dy![1]!, Math.floor(w / 2) + 1],
  ([dy], out, { h, w, part }, [shape]) => {
    const k = Math.floor(w / 2) + 1;
    const sign = part === 'odd' ? -1 : 1;
    const d = dy!;
    for (const [row, pixel] of rowOffsets(shape![0]! * 3 * h, h, w, k)) {
      for (let x = 0; x < k; x++) out[row + x] = d[pixel + x * 3]!;
      for (let x = 1; x < w - k + 1; x++) out[row + x]! += sign * d[pixel + (w - x) * 3]!;
    }
  },
);

/**
 * The rows' last DFT and the columns' inverse real DFT, from [B·3·k·n1, 4·n2] (rows: image and
 * channel, column q, r1; columns: p2 and the four slots) to [B, h, w, 3]. The rows' DFT gives the
 * real and the imaginary parts as two products, each moved to rows (image, channel, y = n1·r2 + r1)
 * and columns q by a 4-axis transpose (wasm's 5-axis ones are several times slower). The columns'
 * transform is E = Re·cos and O = Im·(−sin) over the columns x ≤ w/2 only (half the multiply-adds
 * of one product over all w: cos is even in x and sin odd, so X[x] = E[x] + O[x] and
 * X[w − x] = E[x] − O[x]), unfolded to the whole row and to [B, h, w, 3] by one pass
 * (`AtlasUnfoldColumns`). Backends without that kernel (WebGPU, WebGL, tfjs-node) take two products
 * over all w columns and one transpose instead: fewer ops, which is what counts on a GPU.
 */
function rowsAndColumnsStep(
  c: {
    re: [tf.Tensor2D, tf.Tensor2D];
    im: [tf.Tensor2D, tf.Tensor2D];
    even: [tf.Tensor2D, tf.Tensor2D];
    odd: [tf.Tensor2D, tf.Tensor2D];
    cos: [tf.Tensor2D, tf.Tensor2D];
    sin: [tf.Tensor2D, tf.Tensor2D];
  },
  k: number,
  n1: number,
  n2: number,
  w: number,
): LinearStep {
  const h = n1 * n2;
  // [L, k, r1, r2] ↔ [L, r2, r1, k] (the permutation is its own inverse).
  const toRows = (t: tf.Tensor) => t.reshape([-1, k, n1, n2]).transpose([0, 3, 2, 1]).reshape([-1, k]) as tf.Tensor2D;
  const fromRows = (t: tf.Tensor) => t.reshape([-1, n2, n1, k]).transpose([0, 3, 2, 1]).reshape([-1, n2]) as tf.Tensor2D;
  return {
    forward: (x) => {
      const rows = x.reshape([-1, 4 * n2]) as tf.Tensor2D;
      const [re, im] = [toRows(tf.matMul(rows, c.re[0])), toRows(tf.matMul(rows, c.im[0]))];
      if (!tf.getKernel(UNFOLD, tf.getBackend())) return tf.add(tf.matMul(re, c.cos[0]), tf.matMul(im, c.sin[0])).reshape([-1, 3, h, w]).transpose([0, 2, 3, 1]);
      return runHostKernel<UnfoldAttrs>(UNFOLD, { e: tf.matMul(re, c.even[0]), o: tf.matMul(im, c.odd[0]) }, { h, w })!;
    },
    adjoint: (grad) => {
      const dy = grad.reshape([-1, h, w, 3]);
      let de: tf.Tensor, dodd: tf.Tensor;
      if (!tf.getKernel(UNFOLD, tf.getBackend())) {
        const d = dy.transpose([0, 3, 1, 2]).reshape([-1, w]) as tf.Tensor2D;
        [de, dodd] = [tf.matMul(d, c.cos[1]), tf.matMul(d, c.sin[1])];
      } else {
        const part = (p: 'even' | 'odd') => tf.matMul(runHostKernel<UnfoldAttrs>(UNFOLD_ADJOINT, { dy }, { h, w, part: p })! as tf.Tensor2D, p === 'even' ? c.even[1] : c.odd[1]);
        [de, dodd] = [part('even'), part('odd')];
      }
      return tf.add(tf.matMul(fromRows(de), c.re[1]), tf.matMul(fromRows(dodd), c.im[1]));
    },
  };
}

/** Keeps a host matrix [rows, cols] and its transpose as tensors. */
function constPair(data: Float32Array, rows: number, cols: number): [tf.Tensor2D, tf.Tensor2D] {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c]!;
  return [tf.tensor2d(data, [rows, cols]), tf.tensor2d(t, [cols, rows])];
}

/**
 * The constants of one complex inverse DFT of length n = n1·n2 (input index p = n2·p1 + p2, output
 * r = r1 + n1·r2):
 * - first: [2·n1 (re/im, p1), 4·n1 (r1, s)], a length-n1 DFT over p1 to (r1, s), s = Re, Im, Im, Re
 *   (the copies let the twiddle be one product; measured as fast as twiddling Z and i·Z apart);
 * - twiddle: [n2, 4·n1], e^{2πi·p2·r1/n} as (cos, cos, −sin, sin) per s;
 * - re, im: [4·n2 (p2, s), n2 (r2)], the DFT over p2 to the real and the imaginary parts.
 */
function dftConstants(n: number) {
  const [n1, n2] = factorLength(n);
  const first = new Float32Array(2 * n1 * 4 * n1);
  for (let p1 = 0; p1 < n1; p1++)
    for (let r1 = 0; r1 < n1; r1++) {
      const a = (2 * Math.PI * ((p1 * r1) % n1)) / n1;
      const [c, s] = [Math.cos(a), Math.sin(a)];
      // Re t = Σ re·c − im·s; Im t = Σ re·s + im·c. Columns (r1, s): Re, Im, Im, Re.
      const put = (ri: number, slot: number, v: number) => (first[(ri * n1 + p1) * 4 * n1 + r1 * 4 + slot] = v);
      for (const slot of [0, 3]) {
        put(0, slot, c);
        put(1, slot, -s);
      }
      for (const slot of [1, 2]) {
        put(0, slot, s);
        put(1, slot, c);
      }
    }
  const twiddle = new Float32Array(n2 * 4 * n1);
  for (let p2 = 0; p2 < n2; p2++)
    for (let r1 = 0; r1 < n1; r1++) {
      const a = (2 * Math.PI * ((p2 * r1) % n)) / n;
      twiddle.set([Math.cos(a), Math.cos(a), -Math.sin(a), Math.sin(a)], p2 * 4 * n1 + r1 * 4);
    }
  // After the twiddle, real = s0 + s2 and imag = s1 + s3: one matrix for each.
  const re = new Float32Array(4 * n2 * n2);
  const im = new Float32Array(4 * n2 * n2);
  for (let p2 = 0; p2 < n2; p2++)
    for (let r2 = 0; r2 < n2; r2++) {
      const b = (2 * Math.PI * ((p2 * r2) % n2)) / n2;
      const [c, s] = [Math.cos(b), Math.sin(b)];
      for (let slot = 0; slot < 4; slot++) {
        const isReal = slot === 0 || slot === 2;
        re[(p2 * 4 + slot) * n2 + r2] = isReal ? c : -s;
        im[(p2 * 4 + slot) * n2 + r2] = isReal ? s : c;
      }
    }
  return { n1, n2, first: constPair(first, 2 * n1, 4 * n1), twiddle: tf.tensor2d(twiddle, [n2, 4 * n1]), re: constPair(re, 4 * n2, n2), im: constPair(im, 4 * n2, n2) };
}

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
 * The constants of the transform for an h×w image: spectrum scale (with the Hermitian weights
 * folded in), the two factorized DFTs and the layout changes between them.
 */
export function fourierBasis(h: number, w: number, decay = 1): FourierBasis {
  const k = Math.floor(w / 2) + 1;
  const freqs = rfft2Freqs(h, w);
  const floor = 1 / Math.max(h, w);
  const norm = Math.sqrt(h * w) / (h * w) / 4;
  const scale = Float32Array.from(freqs, (f) => norm / Math.max(f, floor) ** decay);
  const y = dftConstants(h);
  // The inverse real DFT along x: cos of Re and −sin of Im over `cols` columns (all w, or the even
  // and odd halves' x ≤ w/2, for backends with the unfold kernel).
  const columns = (cols: number, f: (a: number) => number) => {
    const m = new Float32Array(k * cols);
    for (let q = 0; q < k; q++) for (let c = 0; c < cols; c++) m[q * cols + c] = f((2 * Math.PI * ((q * c) % w)) / w);
    return constPair(m, k, cols);
  };
  const [cos, minusSin] = [Math.cos, (a: number) => -Math.sin(a)];
  const x = { even: columns(k, cos), odd: columns(k, minusSin), cos: columns(w, cos), sin: columns(w, minusSin) };
  // The scale in the internal layout [k, n2, 2, n1], times the Hermitian weight of each column.
  const inner = new Float32Array(k * y.n2 * 2 * y.n1);
  for (let q = 0; q < k; q++) {
    const weight = q === 0 || (w % 2 === 0 && q === w / 2) ? 1 : 2;
    for (let p2 = 0; p2 < y.n2; p2++) for (let ri = 0; ri < 2; ri++) for (let p1 = 0; p1 < y.n1; p1++) inner[((q * y.n2 + p2) * 2 + ri) * y.n1 + p1] = weight * scale[(y.n2 * p1 + p2) * k + q]!;
  }
  const innerScale = tf.tensor1d(inner);
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
  const [m, mT] = constPair(Float32Array.from(colorT.flat()), 3, 3);
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
