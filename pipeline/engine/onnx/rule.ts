/**
 * What every op rule of the ONNX compiler implements, and the layout helpers they share.
 *
 * Layout: a tensor is described by its Keras shape without the batch (`Val.shape`, NHWC for images).
 * Image tensors (Keras rank 3) are stored NCHW inside the ONNX graph, because ONNX Conv and the pools
 * are NCHW and ORT's fast CPU kernels (MLAS NCHWc) expect it; the graph transposes once at the input
 * and once at each output. Tensors of any other rank are stored as Keras has them.
 */
import type { LeanOp } from '../ops.ts';
import type { GraphBuilder } from './builder.ts';

/** A tensor of the ONNX graph: its name and its Keras shape without batch. */
export interface Val {
  name: string;
  shape: number[];
}

/** What a rule's forward emits. */
export interface Fwd {
  out: Val;
  /** For relu / relu6-like nodes: the pre-activation and the cap (Infinity for relu). */
  relu?: { pre: Val; cap: number };
  /** Tensors the backward needs besides inputs and output (e.g. max-pool indices). */
  saved?: Record<string, string>;
}

export interface Rule<O extends LeanOp = LeanOp> {
  forward(b: GraphBuilder, op: O, ins: Val[], where: string): Fwd;
  /**
   * Gradients with respect to each input (undefined: none flows) given `dy`, the gradient with
   * respect to the output, or with respect to `fwd.relu.pre` when `atPre`.
   */
  backward(b: GraphBuilder, op: O, ins: Val[], fwd: Fwd, dy: string, atPre: boolean): (string | undefined)[];
}

/** Image tensors: Keras [h, w, c], stored NCHW. */
export const isImage = (shape: number[]): boolean => shape.length === 3;

/** ONNX axis of a Keras axis of the batched tensor (negative counts from the end). */
export function onnxAxis(axis: number, shape: number[]): number {
  const rank = shape.length + 1;
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  if (!isImage(shape)) return a;
  return [0, 2, 3, 1][a]!;
}

/** The stored tensor in Keras layout (NHWC for images). */
export function toKeras(b: GraphBuilder, v: Val): string {
  return isImage(v.shape) ? b.op1('Transpose', [v.name], { perm: [0, 2, 3, 1] }) : v.name;
}

/** A Keras-layout tensor of `shape` in stored layout. */
export function fromKeras(b: GraphBuilder, name: string, shape: number[]): string {
  return isImage(shape) ? b.op1('Transpose', [name], { perm: [0, 3, 1, 2] }) : name;
}

/** A per-channel (Keras last axis) constant shaped to broadcast over a stored tensor of `shape`. */
export function channelConstant(b: GraphBuilder, data: Float32Array, shape: number[]): string {
  const c = data.length;
  const dims = isImage(shape) ? [c, 1, 1] : [c];
  return b.constant(data, dims, 'chan');
}

/** Reshapes to [batch, ...dims] (Keras dims; 0 keeps the batch). */
export function reshapeTo(b: GraphBuilder, name: string, dims: number[]): string {
  return b.op1('Reshape', [name, b.ints([0, ...dims])]);
}

/** Sum of gradients (a tensor read by several consumers). */
export function addGrads(b: GraphBuilder, a: string | undefined, c: string | undefined): string | undefined {
  if (a === undefined) return c;
  if (c === undefined) return a;
  return b.op1('Add', [a, c]);
}

/** Error for an op the compiler cannot differentiate or run. */
export class UnsupportedOpError extends Error {}

export function describeOp(op: LeanOp): string {
  return op.op === 'activation' ? `activation ${op.activation}` : op.op;
}
