/**
 * Reshapes, transposes, slices and splits of feature maps. NCHW → NHWC changes what they mean, so
 * only these have lean equivalents: a flatten to [1, F] (its NCHW order kept for the next dense
 * layer), and regroupings and selections of channels with space untouched (channel shuffle's
 * Reshape → Transpose → Reshape, `chunk`), kept as channel views until something reads them.
 * Spatial slices are crops (negative padding).
 */
import { broadcastOp, ints } from './fold.ts';
import type { Const } from './proto.ts';
import { axisOf, feat, materialize, range, type Feat, type OpContext, type Value } from './values.ts';

/** Flatten / Reshape to [1, F] of a map: lean HWC order, the NCHW index of each element kept. */
export function flatten(ctx: OpContext, f: Feat): Feat {
  if (f.shape.length === 2) return f;
  if (f.shape.length !== 4) return ctx.refuse(`flattens a feature map of shape [${f.shape.join(', ')}]`);
  const [, c, h, w] = f.shape as [number, number, number, number];
  const id = ctx.emit({ op: 'reshape', shape: [c * h * w] }, [f.node]);
  const out = feat(id, [1, c * h * w], f.nonneg);
  if (h * w > 1) out.flatPerm = Int32Array.from({ length: c * h * w }, (_, l) => (l % c) * h * w + Math.floor(l / c));
  return out;
}

/** The reshape's target with 0 (copy) and -1 (inferred) resolved. */
function target(shape: number[], from: number[], allowZero: boolean): number[] {
  const dims = shape.map((d, i) => (d === 0 && !allowZero ? from[i]! : d));
  const total = from.reduce((a, b) => a * b, 1);
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return dims.map((d) => (d === -1 ? total / known : d));
}

export function reshape(ctx: OpContext, [x, s]: (Value | undefined)[]): Value {
  if (!x || x.kind !== 'feat') return ctx.refuse('reshapes a constant by a computed shape');
  if (s?.kind !== 'const') return ctx.refuse('its shape is not a constant (it depends on values, not shapes)');
  const to = target(ints(s.c), x.shape, ctx.int('allowzero', 0) === 1);
  const from = x.shape;
  const same = to.length === from.length && to.every((d, i) => d === from[i]);
  if (same) return x;
  if (to.length === 2 && to[0] === 1) return flatten(ctx, materialize(ctx, x));
  // Channels regrouped, spatial axes kept: [1, C, H, W] ↔ [1, g, C/g, H, W] (channel shuffle).
  const spatialKept = from.length >= 4 && to.length >= 4 && to[0] === 1 && to.slice(-2).every((d, i) => d === from.slice(-2)[i]);
  if (spatialKept && !x.flatPerm) {
    const index = x.view?.index ?? range(x.shape.slice(1, -2).reduce((a, b) => a * b, 1));
    return { kind: 'feat', node: x.node, shape: to, nonneg: x.nonneg, view: { index, origin: ctx.node } };
  }
  if (from.length === 4 && from[2] === 1 && from[3] === 1 && to.length === 4 && to[2] === 1 && to[3] === 1) return x;
  return ctx.refuse(`reshapes a feature map of shape [${from.join(', ')}] to [${to.join(', ')}], which has no NHWC equivalent here`);
}

export function transpose(ctx: OpContext, [x]: (Value | undefined)[]): Value {
  const f = x as Feat;
  const perm = ctx.ints('perm') ?? f.shape.map((_, i) => f.shape.length - 1 - i);
  const rank = f.shape.length;
  if (perm.every((p, i) => p === i)) return f;
  const keeps = perm[0] === 0 && perm[rank - 2] === rank - 2 && perm[rank - 1] === rank - 1;
  if (!keeps || rank < 4) return ctx.refuse(`transposes a feature map of shape [${f.shape.join(', ')}] by [${perm.join(', ')}]; only permutations among channel groups (channel shuffle) are supported`);
  const mid = f.shape.slice(1, -2);
  const index = f.view?.index ?? range(mid.reduce((a, b) => a * b, 1));
  const moved = broadcastOp([{ dims: mid, data: Float64Array.from(index) }], (v) => v);
  const permuted = (() => {
    const p = perm.slice(1, -2).map((q) => q - 1);
    const dims = p.map((q) => mid[q]!);
    const strides = mid.map((_, i) => mid.slice(i + 1).reduce((a, b) => a * b, 1));
    return Int32Array.from({ length: index.length }, (_, i) => {
      let rest = i;
      let src = 0;
      for (let d = dims.length - 1; d >= 0; d--) {
        src += (rest % dims[d]!) * strides[p[d]!]!;
        rest = Math.floor(rest / dims[d]!);
      }
      return moved.data[src]!;
    });
  })();
  return { kind: 'feat', node: f.node, shape: perm.map((p) => f.shape[p]!), nonneg: f.nonneg, view: { index: permuted, origin: ctx.node } };
}

/** Slice of a feature map: channels (a view) or spatial crops (negative padding). */
export function sliceFeat(ctx: OpContext, inputs: (Value | undefined)[]): Value {
  const x = inputs[0] as Feat;
  const num = (i: number, attr: string) => (inputs[i]?.kind === 'const' ? ints((inputs[i] as { c: Const }).c) : inputs[i] ? ctx.refuse(`its ${attr} is not a constant`) : ctx.ints(attr));
  const starts = num(1, 'starts')!;
  const ends = num(2, 'ends')!;
  const axes = (num(3, 'axes') ?? starts.map((_, i) => i)).map((a) => axisOf(a, x.shape.length));
  const steps = num(4, 'steps') ?? starts.map(() => 1);
  if (x.shape.length !== 4 || x.flatPerm) return ctx.refuse(`slices a feature map of shape [${x.shape.join(', ')}]`);
  const bounds = axes.map((a, k) => {
    const n = x.shape[a]!;
    const clampTo = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    return { a, b: clampTo(starts[k]!), e: clampTo(ends[k]!), s: steps[k]! };
  });
  if (bounds.some((b) => b.a === 0 || b.s < 1 || (b.a !== 1 && b.s !== 1))) return ctx.refuse('slices the batch, backwards, or with a spatial step; only channel slices and spatial crops are supported');
  const chan = bounds.find((b) => b.a === 1);
  const space = bounds.filter((b) => b.a >= 2);
  if (chan && space.length) return ctx.refuse('slices channels and space at once');
  if (chan) {
    const index = x.view?.index ?? range(x.shape[1]!);
    const picked = Int32Array.from({ length: Math.max(0, Math.ceil((chan.e - chan.b) / chan.s)) }, (_, i) => index[chan.b + i * chan.s]!);
    const shape = [...x.shape];
    shape[1] = picked.length;
    return { kind: 'feat', node: x.node, shape, nonneg: x.nonneg, view: { index: picked, origin: ctx.node } };
  }
  const f = materialize(ctx, x);
  const pads: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ];
  const shape = [...f.shape];
  for (const b of space) {
    pads[b.a - 2] = [-b.b, -(f.shape[b.a]! - b.e)];
    shape[b.a] = b.e - b.b;
  }
  return feat(ctx.emit({ op: 'pad', pads }, [f.node], 'Slice'), shape, f.nonneg);
}

export function split(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = inputs[0] as Feat;
  const axis = axisOf(ctx.int('axis', 0), x.shape.length);
  if (axis !== 1 || x.shape.length !== 4) return ctx.refuse(`splits a feature map along axis ${axis}; only channel splits are supported`);
  const count = ctx.node.output.length;
  const given = inputs[1]?.kind === 'const' ? ints(inputs[1].c) : ctx.ints('split');
  const sizes = given ?? new Array<number>(count).fill(x.shape[1]! / count);
  const index = x.view?.index ?? range(x.shape[1]!);
  let at = 0;
  return sizes.map((n) => {
    const shape = [...x.shape];
    shape[1] = n;
    const v: Feat = { kind: 'feat', node: x.node, shape, nonneg: x.nonneg, view: { index: index.slice(at, at + n), origin: ctx.node } };
    at += n;
    return v;
  });
}
