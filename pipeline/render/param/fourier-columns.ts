/**
 * The last two steps of the Fourier transform as one linear step (`rowsAndColumnsStep`): the rows'
 * second DFT, then the columns' inverse real DFT, unfolded from the columns x ≤ w/2 to the whole
 * row by a kernel of ours on host backends (`AtlasUnfoldColumns` and its adjoint), or as two
 * full-width products elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, runHostKernel } from '../host-kernels.ts';
import type { LinearStep } from './linear-steps.ts';

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
export function rowsAndColumnsStep(
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
