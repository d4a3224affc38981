/**
 * The random warp as ONNX ops: bilinear sampling of x [B, h, w, C] (NHWC) at one affine map per
 * image, given as a tensor [B, 6] (`transformParams`' first six numbers: output pixel (x, y) samples
 * its input at (a0·x + a1·y + a2, b0·x + b1·y + b2)), grey (0) outside the image. The same sampling
 * as the TF.js path's (`bilinear.ts`, `sampling-map.ts`), with the map a per-step input so that one
 * graph serves every step.
 *
 * The four corners of every output pixel and their weights are computed in the graph from the map
 * (floor, fractions, an inside mask). Forward: one GatherElements of the corners along the pixel
 * axis, weighted and summed. Adjoint, exact: the weighted output gradients added into the corners
 * by one ScatterElements with `reduction: add` (opset 16), duplicates summed. ONNX's GridSample is
 * not used: it has no adjoint op, and the scatter needs the corners anyway.
 */
import type { GraphBuilder } from '../../engine/onnx/builder.ts';
import type { Part } from './part.ts';

/** Emits the warp of `x` [B, h, w, c] by `affine` [B, 6] to [B, out[0], out[1], c] with its VJP. */
export function affineWarpPart(b: GraphBuilder, x: string, affine: string, size: [number, number], out: [number, number], c = 3): Part {
  const [h, w] = size;
  const [oh, ow] = out;
  const n = oh * ow;
  const gx = new Float32Array(n);
  const gy = new Float32Array(n);
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++) {
      gx[y * ow + xx] = xx;
      gy[y * ow + xx] = y;
    }
  const reshape = (t: string, dims: number[]) => b.op1('Reshape', [t, b.ints(dims)]);
  const col = (i: number) => b.op1('Slice', [affine, b.ints([i]), b.ints([i + 1]), b.ints([1])]); // [B, 1]
  const [a0, a1, a2, b0, b1, b2] = [0, 1, 2, 3, 4, 5].map(col) as [string, string, string, string, string, string];
  const [cx, cy] = [b.constant(gx, [1, n], 'grid_x'), b.constant(gy, [1, n], 'grid_y')];
  const lin = (p: string, q: string, r: string) => b.op1('Add', [b.op1('Add', [b.op1('Mul', [p, cx]), b.op1('Mul', [q, cy])]), r]);
  const sx = reshape(lin(a0, a1, a2), [-1, 1, n]);
  const sy = reshape(lin(b0, b1, b2), [-1, 1, n]);
  const [x0, y0] = [b.op1('Floor', [sx]), b.op1('Floor', [sy])];
  const [fx, fy] = [b.op1('Sub', [sx, x0]), b.op1('Sub', [sy, y0])];
  // Corners k = 0..3: (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1), along axis 1.
  const corner = (v: number[]) => b.constant(Float32Array.from(v), [1, 4, 1], 'corner');
  const [dy, dx] = [corner([0, 0, 1, 1]), corner([0, 1, 0, 1])];
  const [oneMinusDy, oneMinusDx] = [corner([1, 1, 0, 0]), corner([1, 0, 1, 0])];
  const [signY, signX] = [corner([-1, -1, 1, 1]), corner([-1, 1, -1, 1])];
  const ys = b.op1('Add', [y0, dy]); // [B, 4, n]
  const xs = b.op1('Add', [x0, dx]);
  const within = (v: string, max: number) => b.op1('And', [b.op1('GreaterOrEqual', [v, b.scalar(0)]), b.op1('LessOrEqual', [v, b.scalar(max)])]);
  const inside = b.op1('Cast', [b.op1('And', [within(ys, h - 1), within(xs, w - 1)])], { to: 1 });
  const wy = b.op1('Add', [oneMinusDy, b.op1('Mul', [signY, fy])]);
  const wx = b.op1('Add', [oneMinusDx, b.op1('Mul', [signX, fx])]);
  const weight = reshape(b.op1('Mul', [b.op1('Mul', [wy, wx]), inside]), [-1, 4, n, 1]);
  const clip = (v: string, max: number) => b.op1('Clip', [v, b.scalar(0), b.scalar(max)]);
  const flatIndex = b.op1('Add', [b.op1('Mul', [clip(ys, h - 1), b.scalar(w)]), clip(xs, w - 1)]);
  // Pixel indices (exact in float32 below 2^24) repeated over the channels: [B, 4·n, c].
  const index = b.op1('Expand', [reshape(b.op1('Cast', [flatIndex], { to: 7 }), [-1, 4 * n, 1]), b.ints([1, 1, c])]);

  const gathered = b.op1('GatherElements', [reshape(x, [-1, h * w, c]), index], { axis: 1 });
  const weighted = b.op1('Mul', [reshape(gathered, [-1, 4, n, c]), weight]);
  const y = reshape(b.op1('ReduceSum', [weighted, b.ints([1])], { keepdims: 0 }), [-1, oh, ow, c]);
  return {
    out: y,
    vjp: (dOut) => {
      const spread = reshape(b.op1('Mul', [reshape(dOut, [-1, 1, n, c]), weight]), [-1, 4 * n, c]);
      const zeros = b.op1('ConstantOfShape', [b.op1('Shape', [reshape(x, [-1, h * w, c])])]);
      const dx = b.op1('ScatterElements', [zeros, index, spread], { axis: 1, reduction: 'add' });
      return reshape(dx, [-1, h, w, c]);
    },
  };
}
