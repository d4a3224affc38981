/**
 * The render loop's pixel mapping (`render/pixels.ts` `toModelInput`) as ONNX ops on NCHW images,
 * and its vector-Jacobian product, for the methods' steps in a chain (`chain-step.ts`). The ops
 * follow `toModelInput` one for one (same order of operations, so the same rounding as TF.js where
 * the kernels agree). One-channel models are not mapped here (their methods fall back).
 */
import type { PixelSpace } from '../../render/pixels.ts';
import type { GraphBuilder } from './builder.ts';

const perChannel = (b: GraphBuilder, values: number[]) => b.constant(Float32Array.from(values), [values.length, 1, 1], 'pix');

/** Model input (NCHW [B, 3, h, w]) from a canonical image (NCHW). */
export function emitModelInput(b: GraphBuilder, image: string, space: PixelSpace): string {
  const [lo, hi] = space.range;
  let y = image;
  if (space.channelOrder === 'bgr') y = b.op1('Gather', [y, b.ints([2, 1, 0])], { axis: 1 });
  if (lo !== -1 || hi !== 1) y = b.op1('Add', [b.op1('Mul', [b.op1('Add', [y, b.scalar(1)]), b.scalar((hi - lo) / 2)]), b.scalar(lo)]);
  if (space.mean) y = b.op1('Sub', [y, perChannel(b, space.mean)]);
  if (space.std) y = b.op1('Div', [y, perChannel(b, space.std)]);
  return y;
}

/** ∂/∂image from ∂/∂(model input), both NCHW: the transpose of `emitModelInput`'s linear map. */
export function emitModelInputVjp(b: GraphBuilder, dInput: string, space: PixelSpace): string {
  const [lo, hi] = space.range;
  let d = dInput;
  if (space.std) d = b.op1('Div', [d, perChannel(b, space.std)]);
  if (lo !== -1 || hi !== 1) d = b.op1('Mul', [d, b.scalar((hi - lo) / 2)]);
  if (space.channelOrder === 'bgr') d = b.op1('Gather', [d, b.ints([2, 1, 0])], { axis: 1 });
  return d;
}
