/**
 * One Keras layer (class, snake_case config, weights) → lean ops, with inference-time behaviour:
 * dropout, noise and augmentation layers are the identity; Rescaling, Normalization and an
 * unfolded BatchNormalization are per-channel affine maps. A class without a rule is unsupported
 * (refused before any work, see lower.ts); a config option a rule cannot honour exactly throws
 * `Unsupported` rather than being approximated.
 */
import type { ActivationName, LeanOp, Padding, Weight } from './ops.ts';

type Config = Record<string, unknown>;

export class Unsupported extends Error {}

/** What a rule sees: the layer, its input shape and the config dialect. */
export interface LayerInput {
  name: string;
  className: string;
  config: Config;
  weights: Weight[];
  /** Shape of the first input, without the batch dimension. */
  inShape: number[];
  dialect: 2 | 3;
  /** Operands of a call with scalar constants (see LayerSpec.args). */
  args?: (string | number)[];
}

/** A lean node a rule emits; `suffix` names an extra node ("/depthwise", "/logits"). */
export interface Emitted {
  op: LeanOp;
  suffix?: string;
  /** The layer's className for this node (default: the layer's). */
  className?: string;
}

export type LayerRule = (l: LayerInput) => Emitted[];

export function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

export function padding(v: unknown): Padding {
  if (v === 'same' || v === 'valid') return v;
  throw new Unsupported(`padding "${String(v)}"`);
}

const SAME_NAMES: Record<string, ActivationName> = { silu: 'swish', hard_silu: 'hard_swish' };

/** A Keras activation (string, or Keras 3's serialized function) → lean name; 'softmax' is kept apart. */
export function activationName(v: unknown, dialect: 2 | 3): ActivationName | 'softmax' {
  const raw = v && typeof v === 'object' ? (v as Config).config : v;
  const name = typeof raw === 'string' ? raw : raw == null ? 'linear' : '';
  if (name === 'softmax') return 'softmax';
  if (name === 'hard_sigmoid') return dialect === 3 ? 'hard_sigmoid6' : 'hard_sigmoid';
  const known: string[] = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'gelu', 'hard_swish', 'exponential', 'mish'];
  if (SAME_NAMES[name]) return SAME_NAMES[name]!;
  if (known.includes(name)) return name as ActivationName;
  throw new Unsupported(`activation "${name || JSON.stringify(v)}"`);
}

export function channelsLast(config: Config): void {
  if (config.data_format && config.data_format !== 'channels_last') throw new Unsupported(`data_format ${JSON.stringify(config.data_format)}`);
}

/** A scalar or per-channel list → one value per channel. */
export function perChannel(v: unknown, channels: number, what: string): Float32Array {
  const list = Array.isArray(v) ? (v as unknown[]).flat(4).map(Number) : [Number(v)];
  if (list.length === 1) return new Float32Array(channels).fill(list[0]!);
  if (list.length !== channels) throw new Unsupported(`${what} with ${list.length} values for ${channels} channels`);
  return Float32Array.from(list);
}

export function vec(data: Float32Array): Weight {
  return { shape: [data.length], data };
}

/** Inference batch norm as y = x·scale + shift (per channel). */
export function batchNormAffine(config: Config, weights: Weight[]): { scale: Float32Array; shift: Float32Array } {
  let i = 0;
  const gamma = config.scale === false ? undefined : weights[i++]!.data;
  const beta = config.center === false ? undefined : weights[i++]!.data;
  const mean = weights[i++]!.data;
  const variance = weights[i++]!.data;
  const eps = Number(config.epsilon ?? 1e-3);
  const scale = variance.map((v, c) => (gamma ? gamma[c]! : 1) / Math.sqrt(v + eps));
  const shift = mean.map((m, c) => (beta ? beta[c]! : 0) - m * scale[c]!);
  return { scale, shift };
}

export function lastAxis(config: Config, rank: number): void {
  const axis = Array.isArray(config.axis) ? (config.axis as number[]) : [Number(config.axis ?? -1)];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank)) throw new Unsupported(`axis ${JSON.stringify(config.axis)} (only the channel axis is supported)`);
}

export function conv(kind: 'conv' | 'depthwise'): LayerRule {
  return ({ config, weights, dialect }) => {
    channelsLast(config);
    const groups = Number(config.groups ?? 1);
    const grouped = kind === 'conv' && groups !== 1;
    const act = activationName(config.activation, dialect);
    const op: LeanOp = {
      op: 'conv2d',
      kind: grouped ? 'depthwise' : kind,
      filter: grouped ? depthwiseOfGrouped(weights[0]!, groups) : weights[0]!,
      ...(config.use_bias === false ? {} : { bias: weights[1]! }),
      strides: pair(config.strides, 1),
      padding: padding(config.padding ?? 'valid'),
      dilations: pair(config.dilation_rate, 1),
      activation: act === 'softmax' ? 'linear' : act,
    };
    return act === 'softmax'
      ? [
          { op, suffix: '/logits' },
          { op: { op: 'softmax', axis: -1 }, className: 'Softmax' },
        ]
      : [{ op }];
  };
}

/**
 * A Conv2D with one input channel per group (ConvNeXt's `groups=channels`) is a depthwise conv:
 * kernel [kh, kw, 1, out] holds group g's outputs at g·m … g·m + m − 1, the depthwise order.
 */
function depthwiseOfGrouped(kernel: Weight, groups: number): Weight {
  const [kh, kw, perGroup, out] = kernel.shape as [number, number, number, number];
  if (perGroup !== 1 || out % groups !== 0) throw new Unsupported(`groups ${groups} with ${perGroup} input channels per group (only groups = input channels)`);
  return { shape: [kh, kw, groups, out / groups], data: kernel.data };
}

export const identity: LayerRule = () => [{ op: { op: 'identity' } }];
export const merge =
  (m: 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum'): LayerRule =>
  () => [{ op: { op: 'merge', merge: m } }];

export function pool(reduce: 'max' | 'avg'): LayerRule {
  return ({ config }) => {
    channelsLast(config);
    const size = pair(config.pool_size, 2);
    return [{ op: { op: 'pool2d', reduce, size, strides: pair(config.strides ?? size, 2), padding: padding(config.padding ?? 'valid') } }];
  };
}

export function globalPool(reduce: 'max' | 'avg'): LayerRule {
  return ({ config }) => {
    channelsLast(config);
    return [{ op: { op: 'globalPool', reduce, keepDims: config.keepdims === true } }];
  };
}

/** ((top, bottom), (left, right)) from an int, a pair or a pair of pairs. */
export function pads(v: unknown): [[number, number], [number, number]] {
  if (Array.isArray(v) && Array.isArray(v[0])) return [pair(v[0], 0), pair(v[1], 0)];
  const [h, w] = pair(v, 0);
  return [
    [h, h],
    [w, w],
  ];
}
