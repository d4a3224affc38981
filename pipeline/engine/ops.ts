/**
 * The lean graph's engine-neutral description: every node of a lean graph is one `LeanOp` over
 * constant weights, after inference-time rewriting (batch norm folded into the preceding
 * convolution, dropout and augmentation layers as identity, a Dense softmax split into logits +
 * softmax). Two engines consume it: the TF.js executor (`graph.ts`, closures over tf ops with
 * forward-only input gradients) and the ONNX compiler (`engine/onnx/`, forward + input gradient
 * as one ONNX model). A model format (TF.js layers, Keras `.keras`/`.h5`) produces it through
 * `model/spec.ts`. Plain data: no tensors, so it can be hashed, serialized and sent to workers.
 *
 * Layouts are NHWC, as Keras and TF.js use. Weights are row-major Float32Array in Keras layouts.
 */

/** A constant: row-major values and their shape. */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** Element-wise activations every engine implements. */
export const ACTIVATION_NAMES = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'tanh',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
  'gelu',
  'gelu_tanh',
  /** Keras 2 / TF.js: clip(0.2·x + 0.5, 0, 1) (ONNX HardSigmoid's defaults). */
  'hard_sigmoid',
  /** Keras 3's hard_sigmoid: relu6(x + 3) / 6. */
  'hard_sigmoid6',
  /** x · relu6(x + 3) / 6 (MobileNetV3, Keras 3's hard_swish / hard_silu, ONNX HardSwish). */
  'hard_swish',
  'exponential',
  'mish',
] as const;
export type ActivationName = (typeof ACTIVATION_NAMES)[number];

/** Explicit or TF-style padding. */
export type Padding = 'same' | 'valid';

export type LeanOp =
  /** The graph's single image input. */
  | { op: 'input' }
  /** Inference-time no-ops: Dropout, noise, augmentation layers, a folded BatchNormalization. */
  | { op: 'identity' }
  /**
   * Convolution, bias and activation. `conv`: filter [kh, kw, inC, outC]; `depthwise`: [kh, kw, inC, multiplier].
   * A separable convolution is a depthwise then a pointwise node.
   */
  | {
      op: 'conv2d';
      kind: 'conv' | 'depthwise';
      filter: Weight;
      bias?: Weight;
      strides: [number, number];
      padding: Padding;
      dilations: [number, number];
      activation: ActivationName;
      /** Groups of a grouped conv (1 for plain conv). */
      groups?: number;
    }
  /** x · kernel [inF, outF] + bias, then activation, on the last axis. */
  | { op: 'dense'; kernel: Weight; bias?: Weight; activation: ActivationName }
  /** Per-channel (last axis) y = x · scale + shift: BatchNormalization not folded, Normalization, Rescaling. */
  | { op: 'affine'; scale: Weight; shift: Weight }
  /** Element-wise activation. `leaky_relu` and a capped / thresholded ReLU carry their parameters. */
  | { op: 'activation'; activation: ActivationName }
  | { op: 'leakyRelu'; alpha: number }
  /** min(max(x, 0), cap) (cap Infinity: plain ReLU); the ReLU layer's max_value. */
  | { op: 'clip'; min: number; max: number }
  | { op: 'softmax'; axis: number }
  | { op: 'pool2d'; reduce: 'max' | 'avg'; size: [number, number]; strides: [number, number]; padding: Padding }
  | { op: 'globalPool'; reduce: 'max' | 'avg'; keepDims: boolean }
  /** Element-wise merge of all inputs (same shape, or broadcastable as in Keras). */
  | { op: 'merge'; merge: 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum' }
  /** Concatenation along `axis` of the batched tensor (negative counts from the end). */
  | { op: 'concat'; axis: number }
  /** Zero padding [[top, bottom], [left, right]]; negative values crop (Cropping2D). */
  | { op: 'pad'; pads: [[number, number], [number, number]] }
  /** Reshape to [batch, ...shape]; Flatten is shape [-1]. */
  | { op: 'reshape'; shape: number[] }
  /** Spatial resize to [height, width]. */
  | { op: 'resize'; size: [number, number]; method: 'bilinear' | 'nearest' }
  /** Nearest-neighbour UpSampling2D by integer factors. */
  | { op: 'upsample'; factor: [number, number] }
  /** Layer normalization over the last axis, then gamma and beta. */
  | { op: 'layerNorm'; epsilon: number; gamma?: Weight; beta?: Weight }
  /** Multiply by a per-channel constant (ConvNeXt's layer scale). */
  | { op: 'scale'; scale: Weight };

export type LeanOpName = LeanOp['op'];
