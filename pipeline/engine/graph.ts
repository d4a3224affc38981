/**
 * The lean graph: a LayersModel rewritten as plain TF.js ops over constant weights, so that a
 * gradient step computes the input gradient and nothing else.
 *
 * - weights are copied into constant tensors (no variables, so no weight gradients);
 * - a BatchNormalization right after a convolution is folded into its filter and bias;
 * - inference-only layers (Dropout, noise) are identity;
 * - evaluation stops at the requested layers (only their ancestors run);
 * - convolutions use `conv-ops` (input gradient by forward convolution).
 *
 * A layer type without a rule here falls back to the layer's own `apply` (correct, slower); the
 * list is in `fallbackLayers`. A new layer type is one more entry in `RULES`.
 */
import * as tf from '@tensorflow/tfjs';
import { makeConv, type FusedActivation } from './conv-ops.ts';
import { maxPool } from './pool-ops.ts';

export interface GraphNode {
  name: string;
  className: string;
  inputs: string[];
  /** Output shape without the batch dimension (null where unknown). */
  outputShape: (number | null)[];
  apply: (inputs: tf.Tensor[]) => tf.Tensor;
  dispose?: () => void;
  /** True for a softmax (the model's probabilities). */
  softmax?: boolean;
  /**
   * For nodes whose output is relu(pre) or relu6(pre): the pre-activation and the cap
   * (Infinity for relu). Lets an objective redirect the gradient of an inactive channel.
   */
  relu?: { pre: (inputs: tf.Tensor[]) => tf.Tensor; cap: number };
  /**
   * Convolution nodes with a linear activation: the same conv (bias and folded BN included) with
   * a relu/relu6 fused into its forward kernel. Used to fuse a following activation layer.
   */
  withActivation?: (x: tf.Tensor4D, activation: FusedActivation) => tf.Tensor;
}

export interface LeanGraph {
  inputName: string;
  inputShape: [number, number, number];
  /** Nodes in topological order. */
  nodes: GraphNode[];
  /** Layer types that run through tf.layers because no lean rule exists. */
  fallbackLayers: string[];
  /**
   * Name of the node whose output is the pre-softmax logit, when the model ends in a softmax
   * (possibly followed by reshapes); undefined when it does not.
   */
  logitNode?: string;
  /**
   * Evaluates the graph on x, returning each target's output. With `redirect`, targets that are
   * ReLU/ReLU6 outputs use `redirectedRelu` (same values, gradient redirected where a channel is dead).
   */
  run(x: tf.Tensor4D, targets: string[], options?: { redirect?: boolean }): tf.Tensor[];
  dispose(): void;
}

type Config = Record<string, unknown>;
// tfjs-layers does not export its Layer/Node types through the public tf namespace cleanly.
type AnyLayer = tf.layers.Layer & { inboundNodes?: { inboundLayers: tf.layers.Layer[] }[] };

const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  softmax: (x) => tf.softmax(x),
};

export function activation(name: unknown, where: string): (x: tf.Tensor) => tf.Tensor {
  const key = typeof name === 'string' ? name : 'linear';
  const fn = ACTIVATIONS[key];
  if (!fn) throw new Error(`layer ${where}: activation "${key}" is not supported`);
  return fn;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** Returns [scale, shift] of an inference BatchNormalization as constants. */
function batchNormAffine(layer: AnyLayer, cfg: Config): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    const w = layer.getWeights();
    const center = cfg.center !== false;
    const scaled = cfg.scale !== false;
    let i = 0;
    const gamma = scaled ? w[i++]! : undefined;
    const beta = center ? w[i++]! : undefined;
    const mean = w[i++]!;
    const variance = w[i++]!;
    const eps = Number(cfg.epsilon ?? 1e-3);
    let scale = tf.rsqrt(tf.add(variance, eps));
    if (gamma) scale = tf.mul(scale, gamma);
    let shift = tf.neg(tf.mul(mean, scale));
    if (beta) shift = tf.add(shift, beta);
    return { scale: scale as tf.Tensor1D, shift: shift as tf.Tensor1D };
  });
}

interface RawNode {
  layer: AnyLayer;
  name: string;
  className: string;
  cfg: Config;
  inputs: string[];
}

function inboundNames(layer: AnyLayer, previous: string | undefined): string[] {
  const nodes = layer.inboundNodes ?? [];
  const first = nodes[0];
  if (first && first.inboundLayers.length) return first.inboundLayers.map((l) => l.name);
  return previous && layer.getClassName() !== 'InputLayer' ? [previous] : [];
}

/** Builds the lean graph of a loaded LayersModel. */
export interface LeanGraphOptions {
  /** Fuse conv → relu/relu6 into one kernel (default true; false for comparisons). */
  fuse?: boolean;
}

export function buildLeanGraph(model: tf.LayersModel, options: LeanGraphOptions = {}): LeanGraph {
  if (model.inputs.length !== 1) throw new Error(`the model has ${model.inputs.length} inputs; only single-input image models are supported`);
  const inShape = model.inputs[0]!.shape;
  if (inShape.length !== 4) throw new Error(`the model's input has shape [${inShape.join(', ')}]; expected an image input [batch, height, width, channels]`);
  const inputShape = [inShape[1] ?? 224, inShape[2] ?? 224, inShape[3] ?? 3] as [number, number, number];

  const raw: RawNode[] = [];
  let previous: string | undefined;
  let inputName = model.inputs[0]!.name.replace(/:\d+$/, '');
  const layers = model.layers as AnyLayer[];
  if (layers[0]?.getClassName() !== 'InputLayer') {
    // Sequential models built without an explicit InputLayer.
    inputName = '__input__';
    raw.push({ layer: layers[0]!, name: inputName, className: 'InputLayer', cfg: {}, inputs: [] });
    previous = inputName;
  }
  for (const layer of layers) {
    raw.push({ layer, name: layer.name, className: layer.getClassName(), cfg: layer.getConfig() as Config, inputs: inboundNames(layer, previous) });
    if (layer.getClassName() === 'InputLayer') inputName = layer.name;
    previous = layer.name;
  }

  const consumers = new Map<string, number>();
  for (const r of raw) for (const i of r.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);

  // Which BN layers fold into their (single-consumer) convolution.
  const byName = new Map(raw.map((r) => [r.name, r]));
  const foldedInto = new Map<string, string>(); // conv name → bn name
  const folded = new Set<string>();
  for (const r of raw) {
    if (r.className !== 'BatchNormalization' || r.inputs.length !== 1) continue;
    const src = byName.get(r.inputs[0]!);
    const axis = r.cfg.axis;
    const lastAxis = axis === undefined || axis === -1 || axis === 3 || (Array.isArray(axis) && (axis[0] === -1 || axis[0] === 3));
    if (
      src &&
      lastAxis &&
      (src.className === 'Conv2D' || src.className === 'DepthwiseConv2D') &&
      (src.cfg.activation ?? 'linear') === 'linear' &&
      consumers.get(src.name) === 1
    ) {
      foldedInto.set(src.name, r.name);
      folded.add(r.name);
    }
  }

  const nodes: GraphNode[] = [];
  const fallbackLayers: string[] = [];
  for (const r of raw) {
    const outShape = (() => {
      try {
        return (r.layer.outputShape as (number | null)[]).slice(1);
      } catch {
        return [];
      }
    })();
    const base = { name: r.name, className: r.className, inputs: r.inputs, outputShape: r.name === inputName ? [...inputShape] : outShape };
    if (folded.has(r.name)) {
      const node: GraphNode = { ...base, apply: ([x]) => x! };
      foldedBn.add(node);
      nodes.push(node);
      continue;
    }
    if (r.className === 'Dense' && r.cfg.activation === 'softmax') {
      // Split so that the pre-softmax logit is a node of its own.
      const logits = `${r.name}/logits`;
      nodes.push({ ...base, name: logits, ...RULES.Dense!(r.layer, { ...r.cfg, activation: 'linear' }) });
      nodes.push({ ...base, className: 'Softmax', inputs: [logits], apply: ([x]) => tf.softmax(x!), softmax: true });
      continue;
    }
    const rule = RULES[r.className];
    if (rule) {
      const bn = foldedInto.get(r.name);
      const built = rule(r.layer, r.cfg, bn ? { layer: byName.get(bn)!.layer, cfg: byName.get(bn)!.cfg } : undefined);
      nodes.push({ ...base, ...built });
    } else {
      fallbackLayers.push(`${r.name} (${r.className})`);
      const layer = r.layer;
      nodes.push({ ...base, apply: (xs) => layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor });
    }
  }

  if (options.fuse !== false) fuseActivations(nodes, consumers);
  const logitNode = findLogitNode(nodes, model.outputs[0]!.name.replace(/\/.*$/, ''));
  const index = new Map(nodes.map((n, i) => [n.name, i]));

  const needed = (targets: string[]): Set<string> => {
    const keep = new Set<string>();
    const stack = [...targets];
    while (stack.length) {
      const n = stack.pop()!;
      if (keep.has(n)) continue;
      keep.add(n);
      const node = nodes[index.get(n)!];
      if (!node) throw new Error(`no layer named "${n}"`);
      stack.push(...node.inputs);
    }
    return keep;
  };
  const plans = new Map<string, Set<string>>();

  return {
    inputName,
    inputShape,
    nodes,
    fallbackLayers,
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

/**
 * conv [→ folded BN] → relu/relu6 with no other consumer in between: the activation node reads the
 * conv's input and runs one fused kernel (conv + bias + activation); its gradient is a mask of the
 * output (see conv-ops). The conv and BN nodes stay in the graph for when they are targets.
 */
function fuseActivations(nodes: GraphNode[], consumers: Map<string, number>): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const node of nodes) {
    if (!node.relu || node.inputs.length !== 1 || (node.className !== 'Activation' && node.className !== 'ReLU')) continue;
    if (node.relu.cap !== Infinity && node.relu.cap !== 6) continue;
    let src = byName.get(node.inputs[0]!);
    if (src && !src.withActivation && src.className === 'BatchNormalization' && consumers.get(src.name) === 1 && src.inputs.length === 1) {
      const conv = byName.get(src.inputs[0]!);
      // Only a BN that was folded into this conv (its apply is then the identity).
      if (conv?.withActivation && foldedBn.has(src)) src = conv;
      else continue;
    }
    if (!src?.withActivation || consumers.get(node.inputs[0]!) !== 1) continue;
    const conv = src.withActivation;
    const act: FusedActivation = node.relu.cap === 6 ? 'relu6' : 'relu';
    node.inputs = [...src.inputs];
    node.apply = ([x]) => conv(x as tf.Tensor4D, act);
    node.relu = { pre: ([x]) => conv(x as tf.Tensor4D, 'linear'), cap: node.relu.cap };
  }
}
const foldedBn = new WeakSet<GraphNode>();

/** The node feeding the model's final softmax, when it ends in one (possibly followed by reshapes). */
function findLogitNode(nodes: GraphNode[], outputLayer: string): string | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  let node = byName.get(outputLayer);
  while (node && (node.className === 'Reshape' || node.className === 'Flatten') && node.inputs.length === 1) node = byName.get(node.inputs[0]!);
  if (!node) return undefined;
  return node.softmax ? node.inputs[0] : undefined;
}

type Rule = (layer: AnyLayer, cfg: Config, bn?: { layer: AnyLayer; cfg: Config }) => Pick<GraphNode, 'apply' | 'dispose' | 'softmax' | 'relu' | 'withActivation'>;

function reluOf(name: unknown, pre: (inputs: tf.Tensor[]) => tf.Tensor): GraphNode['relu'] {
  if (name === 'relu') return { pre, cap: Infinity };
  if (name === 'relu6') return { pre, cap: 6 };
  return undefined;
}

/**
 * relu / relu6 whose gradient is redirected where no gradient reaches a channel of an image
 * (Lucid's "redirected ReLU", limited to the objective's own layer): there the true gradient is
 * zero and ascent could never start, so the upstream gradient passes where the pre-activation is
 * below zero. Values are the plain activation's; a channel with any gradient gets the true one.
 */
export function redirectedRelu(pre: tf.Tensor, cap: number): tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    const value = Number.isFinite(cap) ? tf.clipByValue(x, 0, cap) : tf.relu(x);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const input = saved[0]!;
        const active = tf.logicalAnd(tf.greater(input, 0), tf.less(input, cap)).toFloat();
        const trueGrad = tf.mul(dy, active);
        if (input.rank !== 4) return trueGrad;
        // Where no gradient flows to a channel of an image, let it through where the input is below zero.
        const flowing = tf.greater(tf.max(tf.abs(trueGrad), [1, 2], true), 0);
        return tf.where(tf.logicalOr(flowing, tf.greater(input, 0)), trueGrad, dy);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(pre);
}

function convRule(kind: 'conv' | 'depthwise'): Rule {
  return (layer, cfg, bn) => {
    const weights = layer.getWeights();
    const useBias = cfg.useBias !== false;
    const { filter, bias } = tf.tidy(() => {
      let f = weights[0]!.clone() as tf.Tensor4D;
      let b: tf.Tensor1D | undefined = useBias ? (weights[1]!.clone() as tf.Tensor1D) : undefined;
      if (bn) {
        const { scale, shift } = batchNormAffine(bn.layer, bn.cfg);
        const [kh, kw, c, m] = f.shape;
        f = (kind === 'conv' ? f.mul(scale) : f.mul(scale.reshape([c, m]))).reshape([kh, kw, c, m]) as tf.Tensor4D;
        b = (b ? b.mul(scale).add(shift) : shift) as tf.Tensor1D;
      }
      return { filter: f, bias: b };
    });
    const actName = typeof cfg.activation === 'string' ? cfg.activation : 'linear';
    const fusable = actName === 'linear' || actName === 'relu' || actName === 'relu6';
    const conv = makeConv({
      kind,
      filter,
      bias,
      activation: fusable ? (actName as FusedActivation) : 'linear',
      strides: pair(cfg.strides, 1),
      padding: cfg.padding === 'same' ? 'same' : 'valid',
      dilations: pair(cfg.dilationRate, 1),
    });
    const act = activation(cfg.activation, layer.name);
    // conv + bias + relu/relu6 in one forward kernel; other activations run after it.
    const pre = ([x]: tf.Tensor[]) => conv.apply(x as tf.Tensor4D, 'linear');
    return {
      apply: fusable ? ([x]) => conv.apply(x as tf.Tensor4D) : (xs) => act(pre(xs)),
      relu: reluOf(cfg.activation, pre),
      ...(actName === 'linear' ? { withActivation: (x: tf.Tensor4D, a: FusedActivation) => conv.apply(x, a) } : {}),
      dispose: () => {
        conv.dispose();
        filter.dispose();
        bias?.dispose();
      },
    };
  };
}

const RULES: Record<string, Rule> = {
  InputLayer: () => ({ apply: ([x]) => x! }),
  Conv2D: convRule('conv'),
  DepthwiseConv2D: convRule('depthwise'),
  Dense: (layer, cfg) => {
    const [kernel, bias] = layer.getWeights().map((w) => w.clone());
    const act = activation(cfg.activation, layer.name);
    return {
      apply: ([x]) => {
        let y = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
        if (bias && cfg.useBias !== false) y = tf.add(y, bias);
        return act(y);
      },
      dispose: () => {
        kernel?.dispose();
        bias?.dispose();
      },
    };
  },
  BatchNormalization: (layer, cfg) => {
    const { scale, shift } = batchNormAffine(layer, cfg);
    return {
      apply: ([x]) => tf.add(tf.mul(x!, scale), shift),
      dispose: () => {
        scale.dispose();
        shift.dispose();
      },
    };
  },
  Activation: (layer, cfg) => ({
    apply: ([x]) => activation(cfg.activation, layer.name)(x!),
    softmax: cfg.activation === 'softmax',
    relu: reluOf(cfg.activation, ([x]) => x!),
  }),
  ReLU: (_layer, cfg) => {
    const max = cfg.maxValue == null ? undefined : Number(cfg.maxValue);
    const plain = !cfg.negativeSlope && !cfg.threshold;
    return {
      apply: ([x]) => (max === undefined ? tf.relu(x!) : max === 6 ? tf.relu6(x!) : tf.clipByValue(x!, 0, max)),
      ...(plain ? { relu: { pre: ([x]: tf.Tensor[]) => x!, cap: max ?? Infinity } } : {}),
    };
  },
  LeakyReLU: (_layer, cfg) => ({ apply: ([x]) => tf.leakyRelu(x!, Number(cfg.alpha ?? 0.3)) }),
  ELU: (_layer, cfg) => ({ apply: ([x]) => (Number(cfg.alpha ?? 1) === 1 ? tf.elu(x!) : tf.where(tf.greater(x!, 0), x!, tf.mul(Number(cfg.alpha), tf.sub(tf.exp(x!), 1)))) }),
  Softmax: () => ({ apply: ([x]) => tf.softmax(x!), softmax: true }),
  Dropout: () => ({ apply: ([x]) => x! }),
  SpatialDropout2D: () => ({ apply: ([x]) => x! }),
  GaussianNoise: () => ({ apply: ([x]) => x! }),
  GaussianDropout: () => ({ apply: ([x]) => x! }),
  AlphaDropout: () => ({ apply: ([x]) => x! }),
  Flatten: () => ({ apply: ([x]) => x!.reshape([x!.shape[0], -1]) }),
  Reshape: (_layer, cfg) => ({ apply: ([x]) => x!.reshape([x!.shape[0], ...(cfg.targetShape as number[])]) }),
  ZeroPadding2D: (_layer, cfg) => {
    const p = cfg.padding;
    const pads: [[number, number], [number, number]] = Array.isArray(p) && Array.isArray(p[0]) ? [pair(p[0], 0), pair(p[1], 0)] : [pair(p, 0), pair(p, 0)];
    if (!Array.isArray(p)) pads[0] = [Number(p), Number(p)];
    if (Array.isArray(p) && !Array.isArray(p[0])) {
      pads[0] = [Number(p[0]), Number(p[0])];
      pads[1] = [Number(p[1]), Number(p[1])];
    }
    return { apply: ([x]) => tf.pad(x!, [[0, 0], pads[0], pads[1], [0, 0]]) };
  },
  // pool-ops: a max pool whose gradient is right on every backend (wasm's MaxPoolGrad is not).
  MaxPooling2D: (_layer, cfg) => ({
    apply: ([x]) => maxPool(x as tf.Tensor4D, { size: pair(cfg.poolSize, 2), strides: pair(cfg.strides ?? cfg.poolSize, 2), padding: cfg.padding === 'same' ? 'same' : 'valid' }),
  }),
  AveragePooling2D: (_layer, cfg) => ({
    apply: ([x]) => tf.avgPool(x as tf.Tensor4D, pair(cfg.poolSize, 2), pair(cfg.strides ?? cfg.poolSize, 2), cfg.padding === 'same' ? 'same' : 'valid'),
  }),
  GlobalAveragePooling2D: (_layer, cfg) => ({ apply: ([x]) => tf.mean(x!, [1, 2], cfg.keepDims === true) }),
  GlobalMaxPooling2D: (_layer, cfg) => ({ apply: ([x]) => tf.max(x!, [1, 2], cfg.keepDims === true) }),
  Add: () => ({ apply: (xs) => tf.addN(xs) }),
  Multiply: () => ({ apply: (xs) => xs.reduce((a, b) => tf.mul(a, b)) }),
  Subtract: () => ({ apply: ([a, b]) => tf.sub(a!, b!) }),
  Average: () => ({ apply: (xs) => tf.div(tf.addN(xs), xs.length) }),
  Maximum: () => ({ apply: (xs) => xs.reduce((a, b) => tf.maximum(a, b)) }),
  Concatenate: (_layer, cfg) => ({ apply: (xs) => tf.concat(xs, Number(cfg.axis ?? -1)) }),
  Rescaling: (_layer, cfg) => ({ apply: ([x]) => tf.add(tf.mul(x!, Number(cfg.scale ?? 1)), Number(cfg.offset ?? 0)) }),
};
