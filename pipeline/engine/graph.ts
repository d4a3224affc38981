/**
 * The lean graph's TF.js executor: a `ModelSpec` lowered to `LeanOp`s (`lower.ts`), each op turned
 * into TF.js closures over constant tensors (`tfjs-ops.ts`), so that a gradient step computes the
 * input gradient and nothing else:
 * - weights are constants (no variables, so no weight gradients);
 * - batch norm after a convolution is folded into it (at lowering);
 * - evaluation stops at the requested layers (only their ancestors run);
 * - conv → relu/relu6 runs as one fused kernel (`fuseActivations`).
 * Every node keeps its engine-neutral `op`, which other engines (ONNX) compile instead.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../model/spec.ts';
import type { FusedActivation } from './conv-ops.ts';
import { lowerSpec, type LeanNode, type LoweredGraph } from './lower.ts';
import type { LeanOp } from './ops.ts';
import { buildOp, type BuiltOp } from './tfjs-ops.ts';

export { redirectedRelu } from './redirect.ts';
import { redirectedRelu } from './redirect.ts';

export interface GraphNode {
  name: string;
  className: string;
  inputs: string[];
  /** Output shape without the batch dimension. */
  outputShape: (number | null)[];
  /** The engine-neutral description of this node (weights as plain arrays). */
  op: LeanOp;
  /** Where a conv was fused into this activation (`inputs` then skip the conv): the inputs as in the model. */
  modelInputs?: string[];
  /** For a BatchNormalization folded into its convolution: that convolution's node. */
  foldedInto?: string;
  apply: (inputs: tf.Tensor[]) => tf.Tensor;
  dispose?: () => void;
  /**
   * For nodes whose output is relu(pre), relu6(pre) or min(max(pre, 0), cap): the pre-activation
   * and the cap (Infinity for relu). Lets an objective redirect the gradient of an inactive channel.
   */
  relu?: BuiltOp['relu'];
  /** Linear convolutions: the same conv with a relu/relu6 fused into its forward kernel. */
  withActivation?: BuiltOp['withActivation'];
}

export interface LeanGraph {
  inputName: string;
  inputShape: [number, number, number];
  /** Nodes in topological order (after TF.js's conv → ReLU fusion, which rewires an activation's inputs). */
  nodes: GraphNode[];
  /**
   * The same nodes as lowered from the model, with the model's own edges (no fusion): what other
   * engines compile (ONNX) and what a map of the model shows.
   */
  lowered: LeanNode[];
  /** The model's output node. */
  outputName: string;
  /** The pre-softmax logit node when the model ends in a softmax (possibly followed by reshapes). */
  logitNode?: string;
  /**
   * Evaluates the graph on x, returning each target's output. With `redirect`, targets that are
   * ReLU/ReLU6 outputs use `redirectedRelu` (same values, gradient redirected where a channel is dead).
   */
  run(x: tf.Tensor4D, targets: string[], options?: { redirect?: boolean }): tf.Tensor[];
  dispose(): void;
}

export interface LeanGraphOptions {
  /** Fuse conv → relu/relu6 into one kernel (default true; false for comparisons). */
  fuse?: boolean;
  /** The model file, for error messages. */
  file?: string;
}

function toGraphNode(n: LeanNode): GraphNode {
  const built = buildOp(n.op);
  return { ...n, ...built };
}

/** Builds the lean graph of a ModelSpec (see `model/spec.ts`; `specFromLayersModel` for a tf.LayersModel). */
export function buildLeanGraph(spec: ModelSpec, options: LeanGraphOptions = {}): LeanGraph {
  return leanGraphOf(lowerSpec(spec, options.file), options);
}

/** The lean graph of nodes already lowered: by `lowerSpec`, by a format that maps to LeanOps directly (ONNX), or read back from the live page's files (`output/live-graph.ts`). */
export function leanGraphOf(lowered: LoweredGraph, options: LeanGraphOptions = {}): LeanGraph {
  const nodes: GraphNode[] = [];
  try {
    for (const n of lowered.nodes) nodes.push(toGraphNode(n));
  } catch (err) {
    nodes.forEach((n) => n.dispose?.());
    throw err;
  }
  if (options.fuse !== false) fuseActivations(nodes);
  return executor(nodes, lowered);
}

function executor(nodes: GraphNode[], lowered: LoweredGraph): LeanGraph {
  const { inputName, inputShape, outputName, logitNode } = lowered;
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const needed = (targets: string[]): Set<string> => {
    const keep = new Set<string>();
    const stack = [...targets];
    while (stack.length) {
      const n = stack.pop()!;
      if (keep.has(n)) continue;
      const node = nodes[index.get(n) ?? -1];
      if (!node) throw new Error(`no layer named "${n}"`);
      keep.add(n);
      stack.push(...node.inputs);
    }
    return keep;
  };
  const plans = new Map<string, Set<string>>();
  return {
    inputName,
    inputShape,
    nodes,
    lowered: lowered.nodes,
    outputName,
    logitNode,
    run(x, targets, options = {}) {
      const key = targets.join('\u0000');
      let plan = plans.get(key);
      if (!plan) plans.set(key, (plan = needed(targets)));
      const values = new Map<string, tf.Tensor>();
      for (const node of nodes) {
        if (!plan.has(node.name)) continue;
        if (node.name === inputName) {
          values.set(node.name, x);
          continue;
        }
        const inputs = node.inputs.map((i) => values.get(i)!);
        const redirect = options.redirect && node.relu && targets.includes(node.name);
        values.set(node.name, redirect ? redirectedRelu(node.relu!.pre(inputs), node.relu!.cap) : node.apply(inputs));
      }
      return targets.map((t) => values.get(t)!);
    },
    dispose() {
      for (const n of nodes) n.dispose?.();
    },
  };
}

/** relu / relu6 activations (an Activation layer or a ReLU layer) that a conv kernel can fuse. */
function fusableCap(node: GraphNode): FusedActivation | undefined {
  if (!node.relu || node.inputs.length !== 1 || (node.op.op !== 'activation' && node.op.op !== 'clip')) return undefined;
  if (node.relu.cap === Infinity) return 'relu';
  return node.relu.cap === 6 ? 'relu6' : undefined;
}

/**
 * conv [→ folded BN] → relu/relu6 with no other consumer in between: the activation node reads the
 * conv's input and runs one fused kernel (conv + bias + activation); its gradient is a mask of the
 * output (see conv-ops). The conv and BN nodes stay in the graph for when they are targets.
 */
function fuseActivations(nodes: GraphNode[]): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  for (const node of nodes) {
    const act = fusableCap(node);
    if (!act) continue;
    let src = byName.get(node.inputs[0]!);
    if (src?.foldedInto && consumers.get(src.name) === 1) src = byName.get(src.foldedInto);
    if (!src?.withActivation || consumers.get(src.name) !== 1) continue;
    const conv = src.withActivation;
    node.modelInputs = node.inputs;
    node.inputs = [...src.inputs];
    node.apply = ([x]) => conv(x as tf.Tensor4D, act);
    node.relu = { pre: ([x]) => conv(x as tf.Tensor4D, 'linear'), cap: node.relu!.cap };
  }
}
