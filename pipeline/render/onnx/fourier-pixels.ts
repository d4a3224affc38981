/**
 * Lucid's parameterization as ONNX ops: internal-layout spectra [B, 3, k, n2, 2, n1] → canonical
 * pixels [B, 3, h, w] (NCHW) in [-1, 1], the same math as the TF.js path (`param/fourier.ts` `pixelsOf`,
 * constants from `param/dft.ts`): the scaled spectrum, the rows' four-step inverse DFT (a DFT of
 * length n1, the twiddle, a DFT of length n2 that gives the real and the imaginary parts as one
 * product), the columns' inverse real DFT as one product over both parts and all w columns, the
 * colour matrix, and 2·sigmoid − 1. ONNX Runtime has no 4-axis limit on fast transposes, so the
 * real and imaginary parts travel together (fewer, larger products than the TF.js path's).
 *
 * The VJP is written out: every step is linear except the sigmoid, whose derivative comes from its
 * output, (1 − y²)/2, the ½ folded into the colour matrix's transpose.
 */
import { GraphBuilder } from '../../engine/onnx/builder.ts';
import { fourierConstants, transposed, type HostMatrix } from '../param/dft.ts';
import type { Part } from './part.ts';

const constantOf = (b: GraphBuilder, m: HostMatrix, stem: string) => b.constant(m.data, [m.rows, m.cols], stem);

/** [A | B] side by side: [rows, a.cols + b.cols]. */
function sideBySide(a: HostMatrix, c: HostMatrix): HostMatrix {
  const data = new Float32Array(a.rows * (a.cols + c.cols));
  for (let r = 0; r < a.rows; r++) {
    data.set(a.data.subarray(r * a.cols, (r + 1) * a.cols), r * (a.cols + c.cols));
    data.set(c.data.subarray(r * c.cols, (r + 1) * c.cols), r * (a.cols + c.cols) + a.cols);
  }
  return { data, rows: a.rows, cols: a.cols + c.cols };
}

/** [A over B]: [a.rows + b.rows, cols]. */
function stacked(a: HostMatrix, c: HostMatrix): HostMatrix {
  const data = new Float32Array((a.rows + c.rows) * a.cols);
  data.set(a.data);
  data.set(c.data, a.data.length);
  return { data, rows: a.rows + c.rows, cols: a.cols };
}

export interface FourierPixelsOptions {
  h: number;
  w: number;
  decay: number;
  /** Mᵀ [3][3] (`colorMatrixT`): row vectors t · Mᵀ. */
  colorT: number[][];
}

/** The internal layout's dims without the batch: [3, k, n2, 2, n1] (`FourierBasis.toInternal`). */
export function fourierParamShape(h: number, w: number): number[] {
  const c = fourierConstants(h, w);
  return [3, c.k, c.n2, 2, c.n1];
}

/** Emits spectra `params` → canonical pixels [B, 3, h, w] (NCHW, as the chained graph stores images) with its VJP. */
export function fourierPixels(b: GraphBuilder, params: string, o: FourierPixelsOptions): Part {
  const c = fourierConstants(o.h, o.w, o.decay);
  const { h, w, k, n1, n2 } = c;
  const scale = b.constant(c.innerScale, [k, n2, 2, n1], 'fourier_scale');
  const first = [constantOf(b, c.first, 'dft_first'), constantOf(b, transposed(c.first), 'dft_firstT')];
  const twiddle = constantOf(b, c.twiddle, 'twiddle');
  const reIm = sideBySide(c.re, c.im); // [4·n2, 2·n2]: columns (re/im, r2)
  const second = [constantOf(b, reIm, 'dft_second'), constantOf(b, transposed(reIm), 'dft_secondT')];
  const cosSin = stacked(c.cos, c.sin); // [2·k, w]: rows (re/im, q)
  const columns = [constantOf(b, cosSin, 'dft_columns'), constantOf(b, transposed(cosSin), 'dft_columnsT')];
  // Planes are columns of pixels: rgb = M·t with M = (Mᵀ)ᵀ; the VJP's ½Mᵀ·d.
  const colorT: HostMatrix = { data: Float32Array.from(o.colorT.flat()), rows: 3, cols: 3 };
  const color = constantOf(b, transposed(colorT), 'color');
  const halfColorT = constantOf(b, { ...colorT, data: colorT.data.map((v) => v / 2) }, 'color_halfT');

  const reshape = (x: string, dims: number[]) => b.op1('Reshape', [x, b.ints(dims)]);
  const matMul = (x: string, m: string) => b.op1('MatMul', [x, m]);
  const matMul2 = (m: string, x: string) => b.op1('MatMul', [m, x]);
  // [B·3, k, n1, 2, n2] ↔ [B·3, n2, n1, 2, k]: this permutation is its own inverse.
  const swapRowsColumns = [0, 4, 2, 3, 1];

  // Forward.
  const scaled = b.op1('Mul', [params, scale]);
  const rows1 = matMul(reshape(scaled, [-1, 2 * n1]), first[0]!); // [B·3·k·n2, 4·n1]: (r1, s)
  const twiddled = b.op1('Mul', [reshape(rows1, [-1, n2, 4 * n1]), twiddle]);
  const byR1 = b.op1('Transpose', [reshape(twiddled, [-1, n2, n1, 4])], { perm: [0, 2, 1, 3] }); // [B·3·k, n1, n2, 4]
  const rows2 = matMul(reshape(byR1, [-1, 4 * n2]), second[0]!); // [B·3·k·n1, 2·n2]: (re/im, r2)
  const perRow = b.op1('Transpose', [reshape(rows2, [-1, k, n1, 2, n2])], { perm: swapRowsColumns }); // [B·3, n2, n1, 2, k]: y = n1·r2 + r1
  const planes = matMul(reshape(perRow, [-1, 2 * k]), columns[0]!); // [B·3·h, w]
  // Colour per pixel on planes: rgb = M·t, one product [3, 3] · [B, 3, h·w] (M = (Mᵀ)ᵀ).
  const t = matMul2(color, reshape(planes, [-1, 3, h * w]));
  const y = b.op1('Sub', [b.op1('Mul', [b.op1('Sigmoid', [t]), b.scalar(2)]), b.scalar(1)]);
  const out = reshape(y, [-1, 3, h, w]);

  return {
    out,
    vjp: (dy) => {
      const d = reshape(dy, [-1, 3, h * w]);
      const dt = matMul2(halfColorT, b.op1('Sub', [d, b.op1('Mul', [b.op1('Mul', [d, y]), y])]));
      const dPlanes = reshape(dt, [-1, w]);
      const dPerRow = matMul(dPlanes, columns[1]!); // [B·3·h, 2·k]
      const dRows2 = b.op1('Transpose', [reshape(dPerRow, [-1, n2, n1, 2, k])], { perm: swapRowsColumns }); // [B·3, k, n1, 2, n2]
      const dByR1 = matMul(reshape(dRows2, [-1, 2 * n2]), second[1]!); // [B·3·k·n1, 4·n2]
      const dTwiddled = b.op1('Transpose', [reshape(dByR1, [-1, n1, n2, 4])], { perm: [0, 2, 1, 3] }); // [B·3·k, n2, n1, 4]
      const dRows1 = b.op1('Mul', [reshape(dTwiddled, [-1, n2, 4 * n1]), twiddle]);
      const dScaled = matMul(reshape(dRows1, [-1, 4 * n1]), first[1]!); // [B·3·k·n2, 2·n1]
      return b.op1('Mul', [reshape(dScaled, [-1, 3, k, n2, 2, n1]), scale]);
    },
  };
}
