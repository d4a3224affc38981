/**
 * The values the ONNX converter runs over: a constant or a feature map, a lean node plus the ONNX
 * shape it stands for (batch 1 first), whether it is never negative (zero padding before a max pool
 * is then exact), the NCHW order of a flattened map, or a channel view (channel shuffle, `chunk`:
 * which source channel each channel is), made into one channel-selection node where it is read.
 */
import type { LeanOp } from '../../engine/ops.ts';
import type { Const, NodeProto } from './proto.ts';

export interface Feat {
  kind: 'feat';
  /** The lean node holding it (for a view: the source node). */
  node: string;
  /** Its ONNX shape, batch 1 first. */
  shape: number[];
  nonneg: boolean;
  /** A flattened [1, F] map in lean (HWC) order: the NCHW index of each lean element. */
  flatPerm?: Int32Array;
  /** A channel view: the source channel of each channel (row-major over shape[1..rank-3]). */
  view?: { index: Int32Array; origin: NodeProto; made?: string };
}

export type Value = { kind: 'const'; c: Const } | Feat;

export interface OpContext {
  node: NodeProto;
  opset: number;
  file: string;
  refuse(message: string): never;
  ints(name: string): number[] | undefined;
  int(name: string, fallback: number): number;
  /** Adds a lean node (named later by `origin`'s module); returns its id. */
  emit(op: LeanOp, inputs: string[], opType?: string, className?: string, origin?: NodeProto): string;
  leanShape(id: string): number[];
  leanOp(id: string): LeanOp;
  leanInputs(id: string): string[];
}

export type Handler = (ctx: OpContext, inputs: (Value | undefined)[]) => Value | Value[];

export const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const isIdentity = (index: Int32Array, n: number) => index.length === n && index.every((v, i) => v === i);

/** A feature map read as a tensor: a channel view becomes one channel-selection node here. */
export function materialize(ctx: OpContext, v: Value | undefined, what = 'input'): Feat {
  if (!v || v.kind !== 'feat') return ctx.refuse(`its ${what} is a constant where a feature map is expected`);
  if (!v.view) return v;
  if (v.shape.length !== 4) ctx.refuse(`reads a channel view of shape [${v.shape.join(', ')}]; only [N, C, H, W] views are supported`);
  const source = ctx.leanShape(v.node);
  const c = source[source.length - 1]!;
  if (isIdentity(v.view.index, c)) return { kind: 'feat', node: v.node, shape: v.shape, nonneg: v.nonneg };
  if (!v.view.made) {
    const out = v.view.index.length;
    const kernel = new Float32Array(c * out);
    v.view.index.forEach((src, j) => (kernel[src * out + j] = 1));
    const permutes = out === c && new Set(v.view.index).size === c;
    v.view.made = ctx.emit({ op: 'dense', kernel: { shape: [c, out], data: kernel }, activation: 'linear' }, [v.node], permutes ? 'ChannelShuffle' : 'ChannelSlice', undefined, v.view.origin);
  }
  return { kind: 'feat', node: v.view.made, shape: v.shape, nonneg: v.nonneg };
}

export const feat = (node: string, shape: number[], nonneg = false): Feat => ({ kind: 'feat', node, shape, nonneg });

export const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
