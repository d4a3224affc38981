/**
 * The render loop's pixel steps around the warp as ONNX ops, NHWC: the grey image a one-channel
 * model's units show (`loop.ts` `imageOf`: the mean of R, G and B in every channel) and the mapping
 * of canonical pixels to the model's input (`pixels.ts` `toModelInput`: one channel, or BGR order,
 * then a per-channel scale and offset), each with its VJP.
 */
import type { GraphBuilder } from '../../engine/onnx/builder.ts';
import type { PixelSpace } from '../pixels.ts';
import type { Part } from './part.ts';

const identity = (x: string): Part => ({ out: x, vjp: (dy) => dy });

/** x [B, h, w, 3] → its channels' mean in all three (a one-channel model's grey), or x itself. */
export function greyPart(b: GraphBuilder, x: string, space: PixelSpace): Part {
  if (space.channels !== 1) return identity(x);
  const ones = b.constant(Float32Array.of(1, 1, 1), [3], 'ones');
  const spread = (t: string) => b.op1('Mul', [b.op1('ReduceMean', [t], { axes: [3], keepdims: 1 }), ones]);
  return { out: spread(x), vjp: spread };
}

/**
 * Canonical pixels [B, h, w, 3] → the model's input [B, h, w, c]: y = x·s + o per channel, where
 * (x + 1)·(hi − lo)/2 + lo − mean, over std, is x·s + o with s = (hi − lo)/(2·std) and
 * o = ((hi − lo)/2 + lo − mean)/std.
 */
export function modelInputPart(b: GraphBuilder, x: string, space: PixelSpace): Part {
  const [lo, hi] = space.range;
  const c = space.channels ?? 3;
  const stretch = (hi - lo) / 2;
  const scale = Float32Array.from({ length: c }, (_, i) => stretch / (space.std?.[i] ?? 1));
  const offset = Float32Array.from({ length: c }, (_, i) => (stretch + lo - (space.mean?.[i] ?? 0)) / (space.std?.[i] ?? 1));
  const s = b.constant(scale, [c], 'pixel_scale');
  const o = b.constant(offset, [c], 'pixel_offset');
  let order: Part = identity(x);
  if (c === 1) {
    const third = b.constant(Float32Array.of(1 / 3, 1 / 3, 1 / 3), [3], 'third');
    order = { out: b.op1('ReduceMean', [x], { axes: [3], keepdims: 1 }), vjp: (dy) => b.op1('Mul', [dy, third]) };
  } else if (space.channelOrder === 'bgr') {
    const reverse = (t: string) => b.op1('Slice', [t, b.ints([-1]), b.ints([-4]), b.ints([3]), b.ints([-1])]);
    order = { out: reverse(x), vjp: reverse };
  }
  return { out: b.op1('Add', [b.op1('Mul', [order.out, s]), o]), vjp: (dy) => order.vjp(b.op1('Mul', [dy, s])) };
}
