/**
 * ModelSpec → lean nodes (engine-neutral `LeanOp`s with static shapes), the inference-time
 * rewrite both engines run:
 * - every layer class is checked first: `Lambda` and custom objects (code we never run) and
 *   classes without a rule are refused before any work, naming the layer and its class;
 * - a BatchNormalization right after a linear convolution with no other consumer is folded into
 *   that convolution's filter and bias (the BN node stays, as the identity, so it can be a target);
 * - a Dense (or Conv2D) with a softmax activation is split into `<name>/logits` + softmax `<name>`.
 */
import { AtlasError } from '../errors.ts';
import type { ModelSpec } from '../model/spec.ts';
import { RULES } from './layer-rules.ts';
import { Unsupported } from './lower-layers.ts';
import type { LeanOp, Weight } from './ops.ts';
import { inferShape } from './shapes.ts';

export interface LeanNode {
  name: string;
  /** The Keras class of the layer this node comes from (the split softmax: "Softmax"). */
  className: string;
  inputs: string[];
  op: LeanOp;
  /** Output shape without the batch dimension. */
  outputShape: number[];
  /** For a BatchNormalization folded into its convolution: that convolution's node. */
  foldedInto?: string;
}

export interface LoweredGraph {
  inputName: string;
  inputShape: [number, number, number];
  nodes: LeanNode[];
  outputName: string;
  /** The pre-softmax logit node when the model ends in a softmax (possibly followed by reshapes). */
  logitNode?: string;
}

/** Layers that hold Python code (a TFOpLambda names a TF function instead: see layer-rules.ts). */
const CODE_LAYERS = new Set(['Lambda']);

function unsupportedReason(l: ModelSpec['layers'][number]): string | undefined {
  if (CODE_LAYERS.has(l.className)) return `layer "${l.name}" (${l.className}) holds Python code, which the atlas never runs from a model file`;
  if (l.custom) return `layer "${l.name}" (${l.className}) is a custom object (${l.custom}), whose code the atlas never runs`;
  if (!RULES[l.className]) return `layer "${l.name}" (${l.className}) is not a supported layer type`;
  return undefined;
}

/** Refuses the whole model before any work when a layer cannot be run exactly. */
function checkSupported(spec: ModelSpec, file = spec.name): void {
  const reasons = spec.layers.map(unsupportedReason).filter((r): r is string => !!r);
  if (reasons.length === 0) return;
  const more = reasons.length > 5 ? ` (and ${reasons.length - 5} more)` : '';
  throw new AtlasError(`${file}: ${reasons.slice(0, 5).join('; ')}${more}. Supported layer types: ${Object.keys(RULES).sort().join(', ')}`, { file, path: ['model', 'source'] });
}

/** conv filter [kh, kw, c, m] and bias folded with a per-output-channel affine (BN). */
export function foldAffine(op: Extract<LeanOp, { op: 'conv2d' }>, scale: Float32Array, shift: Float32Array): Extract<LeanOp, { op: 'conv2d' }> {
  const out = scale.length;
  const data = Float32Array.from(op.filter.data, (v, i) => v * scale[i % out]!);
  const bias: Weight = { shape: [out], data: Float32Array.from(shift, (s, o) => s + (op.bias ? op.bias.data[o]! * scale[o]! : 0)) };
  return { ...op, filter: { shape: op.filter.shape, data }, bias };
}

function consumerCounts(spec: ModelSpec): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of spec.layers) for (const i of l.inbound) counts.set(i, (counts.get(i) ?? 0) + 1);
  return counts;
}

function checkWeights(node: LeanNode, inShape: number[], file: string): void {
  const { op } = node;
  const inC = inShape[inShape.length - 1];
  const want = op.op === 'conv2d' ? op.filter.shape[2] : op.op === 'dense' ? op.kernel.shape[0] : undefined;
  if (want !== undefined && want !== inC) {
    throw new AtlasError(`${file}: layer "${node.name}" (${node.className}) has weights for ${want} input channels but receives [${inShape.join(', ')}] (corrupt or mismatched file?)`, {
      file,
      path: ['model', 'source'],
    });
  }
}

/** Follows reshapes back from the output to a softmax; its input is the logit node. */
export function findLogitNode(nodes: LeanNode[], output: string): string | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  let node = byName.get(output);
  while (node && (node.op.op === 'reshape' || node.op.op === 'identity') && node.inputs.length === 1) node = byName.get(node.inputs[0]!);
  return node?.op.op === 'softmax' ? node.inputs[0] : undefined;
}

export function lowerSpec(spec: ModelSpec, file = spec.name): LoweredGraph {
  checkSupported(spec, file);
  const consumers = consumerCounts(spec);
  const nodes: LeanNode[] = [];
  const byName = new Map<string, LeanNode>();
  for (const layer of spec.layers) {
    const inShape = layer.inbound.length ? byName.get(layer.inbound[0]!)!.outputShape : [...spec.inputShape];
    let emitted;
    try {
      emitted = RULES[layer.className]!({ ...layer, inShape, dialect: spec.dialect });
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      throw new AtlasError(`${file}: layer "${layer.name}" (${layer.className}): ${err.message} is not supported`, { file, path: ['model', 'source'] });
    }
    let inputs = layer.inbound;
    for (const [i, e] of emitted.entries()) {
      const name = i === emitted.length - 1 ? layer.name : `${layer.name}${e.suffix ?? `/${i}`}`;
      const inShapes = inputs.map((n) => byName.get(n)!.outputShape);
      const node: LeanNode = { name, className: e.className ?? layer.className, inputs, op: e.op, outputShape: e.op.op === 'input' ? [...spec.inputShape] : inferShape(e.op, inShapes) };
      checkWeights(node, inShapes[0] ?? [], file);
      nodes.push(node);
      byName.set(name, node);
      inputs = [name];
    }
    foldBatchNorm(layer.className, byName.get(layer.name)!, byName, consumers);
  }
  // Several outputs: the one latest in topological order is the class output (see ModelSpec.outputs).
  const outputName = spec.outputs.reduce((a, b) => (nodes.findIndex((n) => n.name === b) > nodes.findIndex((n) => n.name === a) ? b : a));
  return { inputName: spec.inputName, inputShape: spec.inputShape, nodes, outputName, logitNode: findLogitNode(nodes, outputName) };
}

/** A BN (now an affine node) whose only input is a linear conv used by nothing else: fold it in. */
function foldBatchNorm(className: string, bn: LeanNode, byName: Map<string, LeanNode>, consumers: Map<string, number>): void {
  if (className !== 'BatchNormalization' || bn.op.op !== 'affine' || bn.inputs.length !== 1) return;
  const src = byName.get(bn.inputs[0]!);
  if (!src || src.op.op !== 'conv2d' || src.op.activation !== 'linear' || consumers.get(src.name) !== 1) return;
  src.op = foldAffine(src.op, bn.op.scale.data, bn.op.shift.data);
  bn.op = { op: 'identity' };
  bn.foldedInto = src.name;
}

/**
 * The one input size [h, w] a model takes, when its spatial size is fixed: a reshape (Flatten) of a
 * feature map larger than 1 × 1 feeds a layer whose weights are sized to it. Undefined when any size works.
 */
export function fixedInputSize(nodes: LeanNode[], inputName: string, inputShape: [number, number, number]): [number, number] | undefined {
  const shapes = new Map<string, number[]>([[inputName, inputShape], ...nodes.map((n): [string, number[]] => [n.name, n.outputShape])]);
  // A pooled [1, 1, C] map reshaped (MobileNet's head) does not depend on the input size.
  const isMap = (shape: number[] | undefined) => shape?.length === 3 && shape[0]! * shape[1]! > 1;
  const flattensMap = nodes.some((n) => n.op.op === 'reshape' && n.inputs.some((i) => isMap(shapes.get(i))));
  return flattensMap ? [inputShape[0], inputShape[1]] : undefined;
}
