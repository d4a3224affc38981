/**
 * The compiler from a lean graph (nodes of `LeanOp`) to ONNX models:
 *
 * - `compileGradient(nodes, read, inputShape)`: M(x, dA) → (features, dx), the feature map an
 *   objective reads and dx = Jᵀ·dA, the gradient of ⟨features, dA⟩ with respect to the input.
 *   Forward to the read node, then the backward pass in reverse topological order, every op's
 *   gradient written as ONNX forward ops by its rule (`rules-*.ts`).
 * - `compileFeatures(nodes, reads, inputShape)`: forward only, several feature maps.
 * - `emitGradient(b, nodes, read, x)`: the same forward and backward emitted into a graph that is
 *   being built, from a tensor of that graph (`chain.ts` instantiates the network once per unrolled
 *   step; the builder stores the weights once however many times they are emitted).
 *
 * Inputs and outputs are NHWC with a dynamic batch; the spatial size is fixed per model (pads
 * depend on it), so the engine compiles one model per (read, input shape).
 */
import type { FeatureRead } from '../engine.ts';
import type { LeanNode as LoweredNode } from '../lower.ts';
import type { LeanOp, LeanOpName } from '../ops.ts';
import { ACTIVATIONS, reluMask } from './activations.ts';
import { GraphBuilder } from './builder.ts';
import { addGrads, describeOp, fromKeras, isImage, toKeras, UnsupportedOpError, type Fwd, type Rule, type Val } from './rule.ts';
import { ELEMENTWISE_RULES } from './rules-elementwise.ts';
import { LINEAR_RULES } from './rules-linear.ts';
import { POOL_RULES } from './rules-pool.ts';
import { SHAPE_RULES } from './rules-shape.ts';

/**
 * What the compiler needs of a lowered node (`lowerSpec(spec).nodes`). `outputShape`, where given,
 * is checked against the compiler's own shapes. Not a fused TF.js graph's nodes: fusion points a
 * ReLU node's inputs at its convolution's input while its op stays the ReLU.
 */
export type LeanNode = Pick<LoweredNode, 'name' | 'inputs' | 'op'> & { outputShape?: readonly (number | null)[] };

const RULES: { [K in LeanOpName]: Rule<Extract<LeanOp, { op: K }>> } = { ...LINEAR_RULES, ...POOL_RULES, ...SHAPE_RULES, ...ELEMENTWISE_RULES };

/** Why the compiler cannot take these nodes (an op or activation it has no rule for), or undefined. */
export function unsupportedReason(nodes: LeanNode[]): string | undefined {
  for (const n of nodes) {
    const op = n.op as LeanOp | undefined;
    if (!op) return `node ${n.name} carries no LeanOp`;
    if (!(op.op in RULES)) return `node ${n.name}: op "${op.op}" has no ONNX rule`;
    const act = 'activation' in op ? op.activation : undefined;
    if (act !== undefined && !(act in ACTIVATIONS)) return `node ${n.name}: activation "${act}" has no ONNX rule`;
  }
  return undefined;
}

interface Forward {
  b: GraphBuilder;
  order: LeanNode[];
  fwds: Map<string, Fwd>;
  ins: Map<string, Val[]>;
  inputNode: string;
}

/** Emits the forward pass of every ancestor of `targets`, x (NHWC) as graph input "x". */
function forward(nodes: LeanNode[], targets: string[], inputShape: number[]): Forward {
  const b = new GraphBuilder();
  b.input('x', inputShape);
  return emitForward(b, nodes, targets, { name: fromKeras(b, 'x', inputShape), shape: inputShape });
}

/** Emits the forward pass of every ancestor of `targets` into `b`, from `x` (stored layout: NCHW for an image). */
function emitForward(b: GraphBuilder, nodes: LeanNode[], targets: string[], x: Val): Forward {
  const inputShape = x.shape;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const keep = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    const node = byName.get(name);
    if (!node) throw new Error(`no layer named "${name}"`);
    keep.add(name);
    stack.push(...node.inputs);
  }
  const order = nodes.filter((n) => keep.has(n.name));
  const input = order.find((n) => n.op.op === 'input');
  if (!input) throw new Error(`the graph has no input node above ${targets.join(', ')}`);
  const fwds = new Map<string, Fwd>([[input.name, { out: x }]]);
  const ins = new Map<string, Val[]>();
  // The graph's own shapes hold for its declared input size; at another size only ours are known.
  const checkShapes = input.outputShape !== undefined && sameDims(input.outputShape, inputShape);
  for (const node of order) {
    if (node === input) continue;
    const vals = node.inputs.map((i) => fwds.get(i)!.out);
    ins.set(node.name, vals);
    let fwd: Fwd;
    try {
      fwd = (RULES[node.op.op] as Rule).forward(b, node.op, vals, node.name);
    } catch (err) {
      throw new UnsupportedOpError(`layer ${node.name} (${describeOp(node.op)}): ${(err as Error).message}`);
    }
    if (checkShapes && node.outputShape && !sameDims(node.outputShape, fwd.out.shape)) {
      throw new Error(`layer ${node.name}: the ONNX compiler computed shape [${fwd.out.shape}] where the lean graph says [${node.outputShape}]`);
    }
    fwds.set(node.name, fwd);
  }
  return { b, order, fwds, ins, inputNode: input.name };
}

const sameDims = (a: readonly (number | null)[], b: number[]) => a.length === b.length && a.every((d, i) => d === null || d === b[i]);

/** The value a read returns: the node's output, or its pre-activation when asked and it has one. */
function readVal(fwd: Fwd, read: FeatureRead): Val {
  return read.pre && fwd.relu ? fwd.relu.pre : fwd.out;
}

/** Emits `name` as a graph output in Keras layout; returns its Keras shape. */
function emitOutput(b: GraphBuilder, v: Val, name: string): number[] {
  b.rename(toKeras(b, v), name);
  b.output(name, v.shape);
  return v.shape;
}

/**
 * Lucid's redirected ReLU at the read (see graph.ts `redirectedRelu`): the true gradient, except in
 * a channel of an image that no gradient reaches, where dA passes wherever the pre-activation is ≤ 0.
 */
function redirect(b: GraphBuilder, fwd: Fwd, dA: string): string {
  const { pre, cap } = fwd.relu!;
  const trueGrad = reluMask(b, fwd.out.name, dA, cap);
  if (!isImage(pre.shape)) return trueGrad;
  const flowing = b.op1('Greater', [b.op1('ReduceMax', [b.op1('Abs', [trueGrad])], { axes: [2, 3], keepdims: 1 }), b.scalar(0)]);
  const pass = b.op1('Or', [flowing, b.op1('Greater', [pre.name, b.scalar(0)])]);
  return b.op1('Where', [pass, trueGrad, dA]);
}

/** Emits the backward pass from `seed` (gradient at the read) to dx. */
function backward(f: Forward, read: FeatureRead, seed: string): string | undefined {
  const { b, fwds } = f;
  const target = fwds.get(read.node)!;
  const grads = new Map<string, string | undefined>();
  let atPre = false;
  if (target.relu && read.pre) atPre = true;
  else if (target.relu && read.redirect) {
    seed = redirect(b, target, seed);
    atPre = true;
  }
  grads.set(read.node, seed);
  for (const node of [...f.order].reverse()) {
    const dy = grads.get(node.name);
    if (dy === undefined || node.name === f.inputNode) continue;
    const ins = f.ins.get(node.name)!;
    const dxs = (RULES[node.op.op] as Rule).backward(b, node.op, ins, fwds.get(node.name)!, dy, atPre && node.name === read.node);
    node.inputs.forEach((name, i) => grads.set(name, addGrads(b, grads.get(name), dxs[i])));
  }
  return grads.get(f.inputNode);
}

export interface CompiledGradient {
  /** ONNX model bytes: inputs x [B, h, w, c] and dA [B, ...featureShape]; outputs features, dx. */
  model: Uint8Array;
  featureShape: number[];
}

export function compileGradient(nodes: LeanNode[], read: FeatureRead, inputShape: number[]): CompiledGradient {
  const f = forward(nodes, [read.node], inputShape);
  const { b } = f;
  const value = readVal(f.fwds.get(read.node)!, read);
  const featureShape = emitOutput(b, value, 'features');
  b.input('dA', featureShape);
  const dx = backward(f, read, fromKeras(b, 'dA', featureShape));
  // A read that does not depend on the input (never in a real model) has a zero gradient.
  emitOutput(b, { name: dx ?? b.op1('Mul', [f.fwds.get(f.inputNode)!.out.name, b.scalar(0)]), shape: inputShape }, 'dx');
  return { model: b.encode('filter-atlas-gradient'), featureShape };
}

export interface EmittedGradient {
  /** The feature map the read returns (stored layout). */
  features: Val;
  /** ∂⟨features, dA⟩/∂x, stored like x. */
  dx: string;
}

/**
 * The network's forward to `read` and its input gradient, emitted into `b` from `x` (stored layout,
 * Keras shape without batch). `dA` gives the gradient at the features (stored layout) once they are
 * emitted: a graph input, or computed from the features.
 */
export function emitGradient(b: GraphBuilder, nodes: LeanNode[], read: FeatureRead, x: Val, dA: (features: Val) => string): EmittedGradient {
  const f = emitForward(b, nodes, [read.node], x);
  const features = readVal(f.fwds.get(read.node)!, read);
  const dx = backward(f, read, dA(features));
  return { features, dx: dx ?? b.op1('Mul', [x.name, b.scalar(0)]) };
}

interface CompiledFeatures {
  /** Inputs x; outputs features0, features1, … in the order of `reads`. */
  model: Uint8Array;
  shapes: number[][];
}

export function compileFeatures(nodes: LeanNode[], reads: FeatureRead[], inputShape: number[]): CompiledFeatures {
  const f = forward(nodes, [...new Set(reads.map((r) => r.node))], inputShape);
  const shapes = reads.map((r, i) => emitOutput(f.b, readVal(f.fwds.get(r.node)!, r), `features${i}`));
  return { model: f.b.encode('filter-atlas-features'), shapes };
}
