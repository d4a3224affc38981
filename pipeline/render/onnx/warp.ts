/**
 * The random warp as ONNX ops: bilinear sampling of x [B, C, h, w] (NCHW) at one affine map per
 * image, given as a tensor [B, 6] (`transformParams`' first six numbers: output pixel (x, y) samples
 * its input at (a0·x + a1·y + a2, b0·x + b1·y + b2)), grey (0) outside the image. The same sampling
 * as the TF.js path's (`bilinear.ts`, `sampling-map.ts`), with the map a per-step input so that one
 * graph serves every step.
 *
 * The four corners of every output pixel and their weights are computed in the graph from the map
 * (floor, fractions, per-axis inside masks) on [B, 1, 4, n], once for all channels. The image
 * travels as rows of pixels (NHWC, [B·h·w, C]) where it is indexed, so that one index moves a pixel's
 * C values: on ORT's CPU a gather or a scatter costs about the same per index whatever its slice, and
 * a scatter per element (C times the indices) was the chained lucid step's largest op. Forward: one
 * Gather of the corners' pixels, back on channel planes, weighted and summed. Adjoint, exact: the
 * weighted output gradients added into the corners' pixels by one ScatterND with `reduction: add`
 * (opset 16), duplicates summed, in the order corner by corner, pixel by pixel (the same additions,
 * in the same order, as a scatter per plane element: bit-equal to it). The weighting and the sum
 * run on channel planes, [B, c, 4, n] (ORT's CPU broadcasts a trailing axis of 1 or 3 slowly).
 * ONNX's GridSample is not used: it has no adjoint op, and its coordinates in [-1, 1] round the
 * sampling points (measured: enough to part an Adam ascent from the TF.js path's within a few steps).
 */
import type { GraphBuilder } from '../../engine/onnx/builder.ts';
import type { Part } from './part.ts';

/** Each image's first row in the batch's pixel rows (b·pixels), int64 [B, 1, 1, 1]; emitted once per graph and size (every step's batch is the same). */
const offsets = new WeakMap<GraphBuilder, Map<number, string>>();
function imageOffsets(b: GraphBuilder, affine: string, pixels: number): string {
  let perGraph = offsets.get(b);
  if (!perGraph) offsets.set(b, (perGraph = new Map()));
  let name = perGraph.get(pixels);
  if (!name) {
    const batch = b.op1('Gather', [b.op1('Shape', [affine]), b.ints([0])], { axis: 0 });
    const scalar = (t: string) => b.op1('Squeeze', [t, b.ints([0])]);
    const index = b.op1('Range', [scalar(b.ints([0])), scalar(batch), scalar(b.ints([1]))]);
    name = b.op1('Reshape', [b.op1('Mul', [index, b.ints([pixels])]), b.ints([-1, 1, 1, 1])]);
    perGraph.set(pixels, name);
  }
  return name;
}

/** Emits the warp of `x` [B, c, h, w] (NCHW) by `affine` [B, 6] to [B, c, out[0], out[1]] with its VJP. */
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
  const mul = (p: string, q: string) => b.op1('Mul', [p, q]);
  const add = (p: string, q: string) => b.op1('Add', [p, q]);
  const col = (i: number) => b.op1('Slice', [affine, b.ints([i]), b.ints([i + 1]), b.ints([1])]); // [B, 1]
  const [a0, a1, a2, b0, b1, b2] = [0, 1, 2, 3, 4, 5].map(col) as [string, string, string, string, string, string];
  const [cx, cy] = [b.constant(gx, [1, n], 'grid_x'), b.constant(gy, [1, n], 'grid_y')];
  // The sampling point of every output pixel, [B, 1, n]: (a0·x + a1·y + a2, b0·x + b1·y + b2).
  const sx = reshape(add(add(mul(a0, cx), mul(a1, cy)), a2), [-1, 1, n]);
  const sy = reshape(add(add(mul(b0, cx), mul(b1, cy)), b2), [-1, 1, n]);
  const [x0, y0] = [b.op1('Floor', [sx]), b.op1('Floor', [sy])];
  const [fx, fy] = [b.op1('Sub', [sx, x0]), b.op1('Sub', [sy, y0])];
  const [x1, y1] = [add(x0, b.scalar(1)), add(y0, b.scalar(1))];
  // Per axis, each corner's weight (0 outside the image) and its clamped coordinate.
  const inside = (v: string, max: number) => b.op1('Cast', [b.op1('And', [b.op1('GreaterOrEqual', [v, b.scalar(0)]), b.op1('LessOrEqual', [v, b.scalar(max)])])], { to: 1 });
  const oneMinus = (f: string) => b.op1('Sub', [b.scalar(1), f]);
  const [wy0, wy1] = [mul(oneMinus(fy), inside(y0, h - 1)), mul(fy, inside(y1, h - 1))];
  const [wx0, wx1] = [mul(oneMinus(fx), inside(x0, w - 1)), mul(fx, inside(x1, w - 1))];
  // Clamped corner coordinates as int64 on [B, 1, n]: the index arithmetic below stays integer (no cast of the [B, c, 4, n] indices).
  const clip = (v: string, max: number) => b.op1('Cast', [b.op1('Clip', [v, b.scalar(0), b.scalar(max)])], { to: 7 });
  const [ry0, ry1] = [mul(clip(y0, h - 1), b.ints([w])), mul(clip(y1, h - 1), b.ints([w]))];
  const [cx0, cx1] = [clip(x0, w - 1), clip(x1, w - 1)];
  // Corners k = 0..3: (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1), along axis 2: [B, 1, 4, n].
  const weight = reshape(b.op1('Concat', [mul(wy0, wx0), mul(wy0, wx1), mul(wy1, wx0), mul(wy1, wx1)], { axis: 1 }), [-1, 1, 4, n]);
  const cornerIndex = reshape(b.op1('Concat', [add(ry0, cx0), add(ry0, cx1), add(ry1, cx0), add(ry1, cx1)], { axis: 1 }), [-1, 1, 4, n]);
  // Rows of the batch's pixels [B·h·w, c] (NHWC): each image's start at b·h·w, [B, 1, 4, n].
  const rows = add(cornerIndex, imageOffsets(b, affine, h * w));
  const pixels = reshape(b.op1('Transpose', [x], { perm: [0, 2, 3, 1] }), [-1, c]);
  // The corners' values back on channel planes, [B, c, 4, n], weighted and summed as planes.
  const gathered = b.op1('Transpose', [reshape(b.op1('Gather', [pixels, rows], { axis: 0 }), [-1, 4, n, c])], { perm: [0, 3, 1, 2] });
  const y = reshape(b.op1('ReduceSum', [mul(gathered, weight), b.ints([2])], { keepdims: 0 }), [-1, c, oh, ow]);
  return {
    out: y,
    vjp: (dOut) => {
      // Each corner's weighted gradient per output pixel, c values: [B, 4, n, c], scattered as rows of the batch's pixels [B·h·w, c].
      const spread = b.op1('Transpose', [mul(reshape(dOut, [-1, c, 1, n]), weight)], { perm: [0, 2, 3, 1] });
      const zeros = b.op1('ConstantOfShape', [b.op1('Shape', [pixels])]);
      const dx = b.op1('ScatterND', [zeros, reshape(rows, [-1, 1]), reshape(spread, [-1, c])], { reduction: 'add' });
      return b.op1('Transpose', [reshape(dx, [-1, h, w, c])], { perm: [0, 3, 1, 2] });
    },
  };
}
