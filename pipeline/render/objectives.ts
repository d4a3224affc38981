/**
 * Objectives: pure functions from the lean graph and a batch of model inputs to one value per image.
 * A batch's loss is the sum of its images' objectives, so each image's gradient is its own.
 * A new objective is one more factory here returning `Objective`.
 */
import * as tf from '@tensorflow/tfjs';
import type { LeanGraph } from '../engine/graph.ts';

/** Per-image objective values, shape [B]. */
export type Objective = (graph: LeanGraph, modelInput: tf.Tensor4D) => tf.Tensor1D;

/** Row-wise pick: values [B, K], one index per row → [B]. */
export function pickPerRow(values: tf.Tensor2D, indices: number[]): tf.Tensor1D {
  const mask = tf.oneHot(tf.tensor1d(indices, 'int32'), values.shape[1]).toFloat();
  return tf.sum(tf.mul(values, mask), 1) as tf.Tensor1D;
}

/**
 * Mean activation of channel `channels[b]` of `layer` for image b, ignoring `border` pixels on each
 * side. With `redirect`, a ReLU layer's dead channel still passes a gradient (see redirectedRelu).
 */
export function channelObjective(layer: string, channels: number[], border: number, redirect = true): Objective {
  return (graph, x) => {
    const [act] = graph.run(x, [layer], { redirect }) as [tf.Tensor4D];
    if (act.rank !== 4) throw new Error(`layer ${layer} has rank ${act.rank}; filter objectives need a [batch, h, w, channels] output`);
    const [b, h, w, c] = act.shape;
    const cut = h > 2 * border && w > 2 * border ? border : 0;
    const inner = cut ? act.slice([0, cut, cut, 0], [b, h - 2 * cut, w - 2 * cut, c]) : act;
    return pickPerRow(tf.mean(inner, [1, 2]) as tf.Tensor2D, channels);
  };
}

export type ScoreKind = 'logit' | 'probability';

/**
 * The score of class `classes[b]` for image b: the pre-softmax logit (`logitNode`) or the
 * probability (softmax of the logit, or the model's output when it has no separable softmax).
 */
export function classObjective(target: { node: string; isLogit: boolean }, classes: number[], score: ScoreKind): Objective {
  return (graph, x) => {
    const [out] = graph.run(x, [target.node]);
    let flat = out!.reshape([out!.shape[0], -1]) as tf.Tensor2D;
    if (score === 'probability' && target.isLogit) flat = tf.softmax(flat);
    return pickPerRow(flat, classes);
  };
}
