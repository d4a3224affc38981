/**
 * Receptive fields from the lean graph's real ops: which box of the model input an activation at
 * (row, col) of a layer can see. Pure: it reads only each node's `LeanOp` (kernel sizes, strides,
 * dilations, padding, explicit pads) and the static output shapes, so it holds for any model the
 * lean graph runs (MobileNet's explicit ZeroPadding + 'valid' stride-2 convolutions and TF 'same'
 * padding alike). Dataset patches are cropped with it.
 *
 * Per axis, position i of a node covers input pixels [first + i·jump, first + i·jump + size − 1]
 * (the box may reach past the image where the layers pad).
 */
import type { LeanOp } from '../engine/ops.ts';

export interface AxisField {
  /** Input pixels between neighbouring positions. */
  jump: number;
  /** Input pixels one position sees. */
  size: number;
  /** First input pixel seen by position 0 (negative: in the padding). */
  first: number;
}

export type Field = [AxisField, AxisField];

/** What the helper needs of a graph node (a `GraphNode` is one). */
export interface FieldNode {
  name: string;
  inputs: string[];
  /** The inputs as in the model where the executor rewired `inputs` (a conv fused into its ReLU). */
  modelInputs?: string[];
  outputShape: (number | null)[];
  op: LeanOp;
}

/** The input box [x, y, width, height] in model-input pixels seen by position (row, col), clipped to the image. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** TF's padding before the data for 'same' (the extra pixel of an odd total goes after). */
function samePadBefore(input: number, kernel: number, stride: number): number {
  const out = Math.ceil(input / stride);
  return Math.floor(Math.max((out - 1) * stride + kernel - input, 0) / 2);
}

/** A sliding window (convolution or pooling) of `kernel` pixels, `stride`, `dilation`, `padBefore`. */
function slide(f: AxisField, kernel: number, stride: number, dilation: number, padBefore: number): AxisField {
  const span = dilation * (kernel - 1) + 1;
  return { jump: f.jump * stride, size: f.size + (span - 1) * f.jump, first: f.first - padBefore * f.jump };
}

/** Where branches merge (add, concat on channels), a position sees what any of its inputs sees. */
function union(fields: Field[]): Field {
  const axis = (a: 0 | 1): AxisField => {
    const first = Math.min(...fields.map((f) => f[a].first));
    const end = Math.max(...fields.map((f) => f[a].first + f[a].size));
    return { jump: Math.max(...fields.map((f) => f[a].jump)), size: end - first, first };
  };
  return [axis(0), axis(1)];
}

/** A windowed op's field from its input's field and the input's spatial size [h, w]. */
function windowed(f: Field, hw: [number, number], k: [number, number], s: [number, number], d: [number, number], padding: 'same' | 'valid'): Field {
  const pad = (a: 0 | 1) => (padding === 'same' ? samePadBefore(hw[a], d[a] * (k[a] - 1) + 1, s[a]) : 0);
  return [slide(f[0], k[0], s[0], d[0], pad(0)), slide(f[1], k[1], s[1], d[1], pad(1))];
}

/** The op's field, or undefined where positions stop mapping to input boxes (global pooling, reshapes, resizes). */
function opField(op: LeanOp, inputs: Field[], hw: [number, number]): Field | undefined {
  switch (op.op) {
    case 'input':
      return [
        { jump: 1, size: 1, first: 0 },
        { jump: 1, size: 1, first: 0 },
      ];
    case 'conv2d':
      return windowed(inputs[0]!, hw, [op.filter.shape[0]!, op.filter.shape[1]!], op.strides, op.dilations, op.padding);
    case 'pool2d':
      return windowed(inputs[0]!, hw, op.size, op.strides, [1, 1], op.padding);
    case 'pad': {
      const [f0, f1] = inputs[0]!;
      return [
        { ...f0, first: f0.first - op.pads[0][0] * f0.jump },
        { ...f1, first: f1.first - op.pads[1][0] * f1.jump },
      ];
    }
    case 'concat':
      return op.axis === -1 || op.axis === 3 ? union(inputs) : undefined;
    case 'identity':
    case 'activation':
    case 'leakyRelu':
    case 'clip':
    case 'affine':
    case 'dense':
    case 'merge':
    case 'layerNorm':
    case 'scale':
    case 'softmax':
      return union(inputs);
    default:
      return undefined;
  }
}

/**
 * The receptive field of every node up to `target` (nodes in topological order), or undefined when
 * a node on the way is not a sliding window or a per-position op (then no patch can be cut).
 */
export function receptiveField(nodes: readonly FieldNode[], target: string): Field | undefined {
  const fields = new Map<string, Field | undefined>();
  const shapes = new Map(nodes.map((n) => [n.name, n.outputShape]));
  for (const node of nodes) {
    const names = node.modelInputs ?? node.inputs;
    const inputs = names.map((i) => fields.get(i));
    const shape = shapes.get(names[0] ?? '') ?? [];
    const hw: [number, number] = [shape[0] ?? 0, shape[1] ?? 0];
    fields.set(node.name, inputs.some((f) => !f) ? undefined : opField(node.op, inputs as Field[], hw));
    if (node.name === target) return fields.get(target);
  }
  throw new Error(`receptiveField: no node named "${target}"`);
}

/** The box that position (row, col) sees, clipped to an image of `size` [h, w]. */
export function fieldBox(field: Field, row: number, col: number, size: [number, number]): Box {
  const span = (f: AxisField, i: number, n: number): [number, number] => {
    const lo = f.first + i * f.jump;
    const a = Math.max(0, lo);
    return [a, Math.min(n, lo + f.size) - a];
  };
  const [y, height] = span(field[0], row, size[0]);
  const [x, width] = span(field[1], col, size[1]);
  return { x, y, width, height };
}
