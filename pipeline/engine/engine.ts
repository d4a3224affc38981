/**
 * The seam between the render loop and whatever runs the model. A render step builds the model's
 * input from its parameters in TF.js (parameterization, transforms, pixel mapping), asks an engine
 * for the objective's value and its gradient with respect to that input, and carries the gradient
 * back to the parameters in TF.js. The engine alone runs the network: the TF.js lean graph
 * (`tfjs-engine.ts`) or a compiled ONNX model (`onnx/`).
 *
 * An objective is split where an engine needs it: which feature map it reads (`FeatureRead`), and a
 * small TF.js function of that map (`head`). An engine computes the map and back-propagates
 * ∂value/∂map to the input; for a `linear` head that gradient does not depend on the map, so one
 * pass suffices.
 */
import type * as tf from '@tensorflow/tfjs';

/** The feature map an objective reads. */
export interface FeatureRead {
  /** Lean-graph node name. */
  node: string;
  /** Read the values before the node's ReLU/ReLU6 clip (the node's output when it has none). */
  pre: boolean;
  /** Redirect the gradient of a ReLU channel that no gradient reaches (see graph.ts redirectedRelu). */
  redirect: boolean;
}

/** A per-image objective: `head(features of read)` → [B]. */
export interface Objective {
  read: FeatureRead;
  /** Per-image values [B] from the feature map [B, ...]. Pure TF.js; runs inside tidy. */
  head: (features: tf.Tensor) => tf.Tensor1D;
  /** True when `head` is linear in the features (its gradient is a constant): channel mean, neuron, logit. */
  linear: boolean;
  /**
   * Class objectives: per image, the target's lead over the best other class in log-odds
   * (log p_target − max log p_other, the same for logits, log-probabilities and probabilities);
   * positive means top-1. The render loop continues a class unit until it leads by a margin.
   */
  lead?: (features: tf.Tensor) => tf.Tensor1D;
}

export interface ValueAndGrad {
  /** [B] objective values. */
  value: tf.Tensor1D;
  /** [B, h, w, c] ∂value/∂input. */
  grad: tf.Tensor4D;
}

export interface GradientEngine {
  /** e.g. "tfjs-wasm", "onnx-cpu". */
  readonly name: string;
  /** The objective's value at model input `x` ([B, h, w, c]) and its gradient; takes no ownership of x. */
  valueAndGrad(objective: Objective, x: tf.Tensor4D): Promise<ValueAndGrad>;
  /** Forward only: the feature maps `reads` at x, in order (quality numbers, dataset examples). */
  features(reads: FeatureRead[], x: tf.Tensor4D): Promise<tf.Tensor[]>;
  dispose(): void;
}

/**
 * How the render loop builds the model input from its parameters θ: the input (after the
 * parameterization, transforms and pixel mapping) and an optional per-image penalty subtracted from
 * the objective (the lecture's L2 term). Pure TF.js, differentiable in θ.
 */
export type Prefix = (params: tf.Tensor) => { input: tf.Tensor4D; penalty?: tf.Tensor1D };

/** Engines that run the network in TF.js differentiate the whole step at once (`through`). */
export interface FusedGradientEngine extends GradientEngine {
  /**
   * value [B] = head(read(prefix(θ).input)) − penalty, ∂value/∂θ, and ∂head/∂input (what the
   * dead-unit test reads, `render/movable.ts`), in one differentiation.
   */
  through(objective: Objective, prefix: Prefix, params: tf.Tensor): { value: tf.Tensor1D; grad: tf.Tensor; inputGrad: tf.Tensor4D };
}
