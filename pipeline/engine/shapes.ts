/**
 * Static output shapes of lean ops (without the batch dimension), so that a graph's layer shapes
 * are known before anything runs (planning checks filter counts against them).
 */
import type { LeanOp } from './ops.ts';

/** Output length of a windowed op along one axis (TF "same"/"valid"). */
function windowed(size: number, kernel: number, stride: number, dilation: number, padding: 'same' | 'valid'): number {
  if (padding === 'same') return Math.ceil(size / stride);
  return Math.floor((size - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

/** Keras broadcasting of merge inputs (right-aligned, 1 stretches). */
function broadcast(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => Math.max(...shapes.map((s) => s[s.length - rank + i] ?? 1)));
}

export function inferShape(op: LeanOp, inputs: number[][]): number[] {
  const x = inputs[0] ?? [];
  switch (op.op) {
    case 'conv2d': {
      const [kh, kw, , out] = op.filter.shape as [number, number, number, number];
      const c = op.kind === 'depthwise' ? x[2]! * out : out;
      return [windowed(x[0]!, kh, op.strides[0], op.dilations[0], op.padding), windowed(x[1]!, kw, op.strides[1], op.dilations[1], op.padding), c];
    }
    case 'pool2d':
      return [windowed(x[0]!, op.size[0], op.strides[0], 1, op.padding), windowed(x[1]!, op.size[1], op.strides[1], 1, op.padding), x[2]!];
    case 'dense':
      return [...x.slice(0, -1), op.kernel.shape[1]!];
    case 'globalPool':
      return op.keepDims ? [1, 1, x[2]!] : [x[x.length - 1]!];
    case 'merge':
      return broadcast(inputs);
    case 'concat': {
      const axis = op.axis < 0 ? x.length + 1 + op.axis : op.axis;
      const out = [...x];
      out[axis - 1] = inputs.reduce((s, i) => s + i[axis - 1]!, 0);
      return out;
    }
    case 'pad':
      return [x[0]! + op.pads[0][0] + op.pads[0][1], x[1]! + op.pads[1][0] + op.pads[1][1], x[2]!];
    case 'reshape': {
      const total = x.reduce((a, b) => a * b, 1);
      const known = op.shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      return op.shape.map((d) => (d === -1 ? total / known : d));
    }
    case 'resize':
      return [op.size[0], op.size[1], x[2]!];
    case 'upsample':
      return [x[0]! * op.factor[0], x[1]! * op.factor[1], x[2]!];
    default:
      return [...x];
  }
}
