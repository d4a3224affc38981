/**
 * The constants of the scaled Fourier parameterization's inverse real 2-D DFT, as host arrays:
 * the spectrum scale, the rows' four-step factorized complex DFT (n = n1·n2: a DFT of length n1,
 * a twiddle, a DFT of length n2) and the columns' inverse real DFT (even/odd halves and full width).
 * `fourier.ts` makes TF.js tensors of them; the chained ONNX step (`lucid-onnx.ts`) initializers.
 * See `fourier.ts` for the layouts and why the transform is factorized this way.
 */

/** A row-major matrix [rows, cols] in host memory. */
export interface HostMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

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

/** The transpose of a host matrix. */
export function transposed(m: HostMatrix): HostMatrix {
  const t = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) t[c * m.rows + r] = m.data[r * m.cols + c]!;
  return { data: t, rows: m.cols, cols: m.rows };
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
  return {
    n1,
    n2,
    first: { data: first, rows: 2 * n1, cols: 4 * n1 },
    twiddle: { data: twiddle, rows: n2, cols: 4 * n1 },
    re: { data: re, rows: 4 * n2, cols: n2 },
    im: { data: im, rows: 4 * n2, cols: n2 },
  };
}

/** Every constant of the transform of an h×w image (`fourierBasis`'s, as host arrays). */
export interface FourierConstants {
  h: number;
  w: number;
  /** Columns of the half spectrum: w/2 + 1. */
  k: number;
  /** h = n1·n2. */
  n1: number;
  n2: number;
  /** Spectrum scale [h, k]: 1/max(f, 1/max(h,w))^decay · √(hw), times irfft2's 1/(hw) and Lucid's 1/4. */
  scale: HostMatrix;
  /** The scale in the internal layout [k, n2, 2, n1], times the Hermitian weight of each column (flat). */
  innerScale: Float32Array;
  /** Rows: the DFT over p1 [2·n1, 4·n1], the twiddle [n2, 4·n1], the DFT over p2 to real and imaginary parts [4·n2, n2]. */
  first: HostMatrix;
  twiddle: HostMatrix;
  re: HostMatrix;
  im: HostMatrix;
  /** Columns: cos of Re and −sin of Im over the columns x ≤ w/2 [k, k] (`even`, `odd`) or over all w [k, w]. */
  even: HostMatrix;
  odd: HostMatrix;
  cos: HostMatrix;
  sin: HostMatrix;
}

/**
 * The constants of the transform for an h×w image: spectrum scale (with the Hermitian weights
 * folded in), the two factorized DFTs.
 */
export function fourierConstants(h: number, w: number, decay = 1): FourierConstants {
  const k = Math.floor(w / 2) + 1;
  const freqs = rfft2Freqs(h, w);
  const floor = 1 / Math.max(h, w);
  const norm = Math.sqrt(h * w) / (h * w) / 4;
  const scale = Float32Array.from(freqs, (f) => norm / Math.max(f, floor) ** decay);
  const y = dftConstants(h);
  // The inverse real DFT along x: cos of Re and −sin of Im over `cols` columns (all w, or the even
  // and odd halves' x ≤ w/2, for backends with the unfold kernel).
  const columns = (cols: number, f: (a: number) => number): HostMatrix => {
    const m = new Float32Array(k * cols);
    for (let q = 0; q < k; q++) for (let c = 0; c < cols; c++) m[q * cols + c] = f((2 * Math.PI * ((q * c) % w)) / w);
    return { data: m, rows: k, cols };
  };
  const [cos, minusSin] = [Math.cos, (a: number) => -Math.sin(a)];
  const inner = new Float32Array(k * y.n2 * 2 * y.n1);
  for (let q = 0; q < k; q++) {
    const weight = q === 0 || (w % 2 === 0 && q === w / 2) ? 1 : 2;
    for (let p2 = 0; p2 < y.n2; p2++) for (let ri = 0; ri < 2; ri++) for (let p1 = 0; p1 < y.n1; p1++) inner[((q * y.n2 + p2) * 2 + ri) * y.n1 + p1] = weight * scale[(y.n2 * p1 + p2) * k + q]!;
  }
  return { h, w, k, ...y, scale: { data: scale, rows: h, cols: k }, innerScale: inner, even: columns(k, cos), odd: columns(k, minusSin), cos: columns(w, cos), sin: columns(w, minusSin) };
}
