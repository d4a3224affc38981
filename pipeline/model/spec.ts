/**
 * `ModelSpec`: a model at the level of a Keras functional config, whatever file it came from
 * (TF.js layers folder, Keras 3 `.keras`, Keras 2 `.h5`). TF.js's `modelTopology` is a Keras model
 * config, so all formats share one config parser (`keras-config.ts`); only where the weights are
 * read from differs (`formats/`). The lean graph is built from this (`engine/lower.ts`).
 *
 * Nested models (a Sequential or Functional used as a layer) are flattened: their layers appear
 * in `layers` under the path of model names that contains them, joined by "/", e.g. the
 * Teachable Machine backbone's `sequential_1/model1/block_16_project`. A top-level layer keeps its
 * own name. The nested model itself is not a node: a reference to it means its output layer.
 */
import type { Weight } from '../engine/ops.ts';

export type { Weight };

export interface LayerSpec {
  /** Unique, addressable name (nested layers: "outer/inner"). */
  name: string;
  /** Keras class name, e.g. "Conv2D". */
  className: string;
  /** The layer's Keras config, snake_case keys as in Keras JSON. */
  config: Record<string, unknown>;
  /** Names of the layers feeding this one, in argument order. */
  inbound: string[];
  /** Weights in Keras order (e.g. kernel, bias; gamma, beta, moving_mean, moving_variance). */
  weights: Weight[];
  /** Set for a Keras 3 custom object (its registered name or module): code the atlas never runs. */
  custom?: string;
  /**
   * A call with scalar operands (`x + 3.0`: a Keras 3 op node "ops.Add", a Keras 2 TFOpLambda):
   * its operands in order, layer names and numbers.
   */
  args?: (string | number)[];
}

export interface ModelSpec {
  name: string;
  /** The InputLayer's name (always `layers[0]`). */
  inputName: string;
  /** [height, width, channels] of the image input. */
  inputShape: [number, number, number];
  /** Topological order, the InputLayer first. */
  layers: LayerSpec[];
  /**
   * The model's output layers (one for the image classifiers the atlas serves). With several, the
   * one latest in `layers` is the model's output for class units; every layer stays a target.
   */
  outputs: string[];
  /** Keras 2 and TF.js, or Keras 3: a few activations differ between them (hard_sigmoid). */
  dialect: 2 | 3;
}

/** Where a leaf layer sits in the file: what a weight reader needs to find its variables. */
export interface LayerLocation {
  /** Model names from the outermost layer down to the layer itself (["sequential_1", "model1", "Conv1"]). */
  names: string[];
  /** Keras 3 weight-store path ("layers/sequential/layers/conv2d_1"). */
  keras3Path: string;
}

/** Reads a leaf layer's weights in Keras order; [] for layers without weights. */
export type WeightReader = (layer: { className: string; config: Record<string, unknown>; name: string }, where: LayerLocation) => Weight[];

/**
 * Variable names of each weighted layer class in Keras order, with the config switches that drop
 * one (use_bias, center, scale). Keras 2 and TF.js name variables this way; Keras 3 numbers them.
 */
export function variableNames(className: string, config: Record<string, unknown>): string[] {
  const bias = config.use_bias === false ? [] : ['bias'];
  switch (className) {
    case 'Conv2D':
    case 'Dense':
      return ['kernel', ...bias];
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [...(config.scale === false ? [] : ['gamma']), ...(config.center === false ? [] : ['beta']), 'moving_mean', 'moving_variance'];
    case 'LayerNormalization':
      return [...(config.scale === false ? [] : ['gamma']), ...(config.center === false ? [] : ['beta'])];
    case 'Normalization':
      // Given in the config (mean/variance arguments) there are no variables.
      return config.mean != null ? [] : ['mean', 'variance', 'count'];
    case 'LayerScale':
      return ['gamma'];
    default:
      // Layers without a lean rule are refused at lowering; their weights are never read.
      return [];
  }
}

/** Keras's own `to_snake_case`, which names a layer's slot in a Keras 3 weights file. */
export function snakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
