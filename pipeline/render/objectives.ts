/**
 * Objectives: what a unit maximizes, as data an engine can run. Each is a `FeatureRead` (which
 * feature map: a layer's output, or its values before a ReLU/ReLU6 clip) and a small per-image
 * `head` from that map to one value per image (see `engine/engine.ts`). A batch's loss is the sum of
 * its images' values, so each image's gradient is its own. A new objective is one more factory here.
 */
import * as tf from '@tensorflow/tfjs';
import type { FilterObjectiveKind } from '../config/schema.ts';
import type { FeatureRead, Objective } from '../engine/engine.ts';

export type { Objective } from '../engine/engine.ts';

/** Row-wise pick: values [B, K], one index per row → [B]. */
function pickPerRow(values: tf.Tensor2D, indices: number[]): tf.Tensor1D {
  const mask = tf.oneHot(tf.tensor1d(indices, 'int32'), values.shape[1]).toFloat();
  return tf.sum(tf.mul(values, mask), 1) as tf.Tensor1D;
}

function asMap(act: tf.Tensor, read: FeatureRead): tf.Tensor4D {
  if (act.rank !== 4) throw new Error(`layer ${read.node} has rank ${act.rank}; filter objectives need a [batch, h, w, channels] output`);
  return act as tf.Tensor4D;
}

/** Per-channel means ignoring `border` pixels on each side (none when the map is too small): [B, C]. */
export function channelMeans(act: tf.Tensor4D, border: number): tf.Tensor2D {
  const [b, h, w, c] = act.shape;
  const cut = h > 2 * border && w > 2 * border ? border : 0;
  const inner = cut ? act.slice([0, cut, cut, 0], [b, h - 2 * cut, w - 2 * cut, c]) : act;
  return tf.mean(inner, [1, 2]) as tf.Tensor2D;
}

/** The centre position (h/2, w/2) of each channel: [B, C]. */
function centre(act: tf.Tensor4D): tf.Tensor2D {
  const [b, h, w, c] = act.shape;
  return act.slice([0, Math.floor(h / 2), Math.floor(w / 2), 0], [b, 1, 1, c]).reshape([b, c]) as tf.Tensor2D;
}

const output = (node: string, redirect: boolean): FeatureRead => ({ node, pre: false, redirect });
const pre = (node: string): FeatureRead => ({ node, pre: true, redirect: false });

/**
 * Mean activation of channel `channels[b]` of `layer` for image b, ignoring `border` pixels on each
 * side. With `redirect`, a ReLU layer's dead channel still passes a gradient (see redirectedRelu).
 */
export function channelObjective(layer: string, channels: number[], border: number, redirect = true): Objective {
  const read = output(layer, redirect);
  return { read, linear: true, head: (a) => pickPerRow(channelMeans(asMap(a, read), border), channels) };
}

/** Like `channelObjective`, on the layer's values before its ReLU/ReLU6 clip. */
export function preActivationChannelObjective(layer: string, channels: number[], border: number): Objective {
  const read = pre(layer);
  return { read, linear: true, head: (a) => pickPerRow(channelMeans(asMap(a, read), border), channels) };
}

/** Channel `channels[b]` of `layer` at the centre position (h/2, w/2) of the map, for image b. */
export function neuronObjective(layer: string, channels: number[], redirect = true): Objective {
  const read = output(layer, redirect);
  return { read, linear: true, head: (a) => pickPerRow(centre(asMap(a, read)), channels) };
}

/** Like `neuronObjective`, on the layer's pre-activation. */
export function preActivationNeuronObjective(layer: string, channels: number[]): Objective {
  const read = pre(layer);
  return { read, linear: true, head: (a) => pickPerRow(centre(asMap(a, read)), channels) };
}

export type ScoreKind = 'logit' | 'logprob' | 'probability';

/**
 * The score of class `classes[b]` for image b, from the logit node (`isLogit`) or, when the model
 * has no separable softmax, from its probabilities:
 * - `logit`: the pre-softmax logit (linear: one engine pass per step);
 * - `logprob`: log-softmax of the logits, which raises the target *and* lowers its rivals, with a
 *   gradient that does not vanish while the probability is tiny;
 * - `probability`: the softmax output, what the lecture notes maximized.
 */
export function classObjective(target: { node: string; isLogit: boolean }, classes: number[], score: ScoreKind): Objective {
  const scores = (flat: tf.Tensor2D): tf.Tensor2D => {
    if (score === 'logit') return flat;
    if (score === 'probability') return target.isLogit ? tf.softmax(flat) : flat;
    return target.isLogit ? tf.logSoftmax(flat) : tf.log(tf.add(flat, 1e-12));
  };
  return {
    read: output(target.node, false),
    linear: score === 'logit' || (score === 'probability' && !target.isLogit),
    head: (out) => pickPerRow(scores(out.reshape([out.shape[0]!, -1]) as tf.Tensor2D), classes),
    lead: (out) => classLead(out.reshape([out.shape[0]!, -1]) as tf.Tensor2D, classes, target.isLogit),
  };
}

/**
 * Per row, the target's lead over the best other class in log-odds: logit differences when `scores`
 * are logits (the softmax's shift cancels), log-probability differences when they are probabilities.
 */
export function classLead(scores: tf.Tensor2D, classes: number[], isLogit: boolean): tf.Tensor1D {
  const logits = isLogit ? scores : tf.log(tf.add(scores, 1e-12));
  const mask = tf.oneHot(tf.tensor1d(classes, 'int32'), logits.shape[1]!).toFloat();
  const target = tf.sum(tf.mul(logits, mask), 1);
  // The target's own entry pushed far below every class, so the max is the best rival's.
  const rival = tf.max(tf.sub(logits, tf.mul(mask, 1e30)), 1);
  return tf.sub(target, rival) as tf.Tensor1D;
}

/** The negative of an objective: maximizing it minimizes the original (e.g. what a filter dislikes). */
export function negative(o: Objective): Objective {
  return { ...o, head: (a) => tf.neg(o.head(a)) as tf.Tensor1D };
}

/** Weighted sum of objectives that read the same feature map, per image. */
export function sum(...terms: [Objective, number][]): Objective {
  const read = terms[0]![0].read;
  const other = terms.find(([o]) => JSON.stringify(o.read) !== JSON.stringify(read));
  if (other) throw new Error(`sum: objectives read ${JSON.stringify(read)} and ${JSON.stringify(other[0].read)}; a sum reads one feature map`);
  return {
    read,
    linear: terms.every(([o]) => o.linear),
    head: (a) => tf.addN(terms.map(([o, w]) => (w === 1 ? o.head(a) : tf.mul(o.head(a), w)))) as tf.Tensor1D,
  };
}

/**
 * Diversity (Lucid's `diversity`): images of one unit pushed apart in style. Images are grouped
 * (`groups[b]` = group id of image b; images of one unit share a group); image b's value is minus
 * the mean cosine similarity between its Gram matrix of `layer` activations and those of the other
 * images of its group (0 when it is alone). Images of different groups never interact, so a
 * group's values do not depend on the rest of the batch. Use with `sum` and a weight.
 */
export function diversityObjective(layer: string, groups: number[]): Objective {
  const read = output(layer, false);
  return {
    read,
    linear: false,
    head: (a) => {
      const act = asMap(a, read);
      const [b, h, w, c] = act.shape;
      const flat = act.reshape([b, h * w, c]) as tf.Tensor3D;
      const gram = tf
        .matMul(flat, flat, true, false)
        .reshape([b, c * c])
        .div(h * w);
      const unit = gram.div(tf.norm(gram, 'euclidean', 1, true).add(1e-8)) as tf.Tensor2D;
      const sim = tf.matMul(unit, unit, false, true); // [b, b] cosine similarities
      const mask = new Float32Array(b * b);
      const count = new Float32Array(b);
      for (let i = 0; i < b; i++)
        for (let j = 0; j < b; j++)
          if (i !== j && groups[i] === groups[j]) {
            mask[i * b + j] = 1;
            count[i]! += 1;
          }
      const total = tf.sum(tf.mul(sim, tf.tensor2d(mask, [b, b])), 1);
      return tf.neg(tf.div(total, tf.maximum(tf.tensor1d(count), 1))) as tf.Tensor1D;
    },
  };
}

/**
 * Channel × cosine similarity (Lucid's "direction_neuron_cossim" idea applied to a channel): with v
 * the image's vector of channel means of relu(pre-activation) (border ignored), the value is
 * v_t · (v_t / ‖v‖)^power. It rewards images where the target dominates the layer, not images that
 * raise every channel (some channels respond strongly to any structured pattern).
 */
export function channelCossimObjective(layer: string, channels: number[], border: number, power = 1): Objective {
  const read = pre(layer);
  return {
    read,
    linear: false,
    head: (a) => {
      const v = channelMeans(tf.relu(asMap(a, read)), border);
      const target = pickPerRow(v, channels);
      const cos = target.div(tf.norm(v, 'euclidean', 1).add(1e-6));
      return tf.mul(target, tf.pow(tf.relu(cos), power)) as tf.Tensor1D;
    },
  };
}

/** How sharply `channelShareObjective` singles out the target: the softmax's scale in standard deviations. */
export const SHARE_SHARPNESS = 5;

/**
 * The target's share of the layer. With v the layer's channel means of the pre-activation (border
 * ignored), z-scored across the layer's channels, the value is log softmax(k·z)_t, k = SHARE_SHARPNESS.
 * Raising it raises the target and lowers the channels that compete with it, so the image is
 * specific to the unit: the plain channel mean also raises channels that fire on any strong pattern,
 * and at a ReLU6 layer it stops at the cap of 6, where other channels tie with it. The z-score makes it
 * independent of the model's activation scale. On MobileNet v1, k = 5 beat both a plain softmax of the
 * means (k ≈ σ ≈ 1.3 there) and k = 10 (bench/lucid-results.md): softer spreads the push over hundreds
 * of channels, sharper stalls on the nearest competitor. Per image.
 */
export function channelShareObjective(layer: string, channels: number[], border: number, sharpness = SHARE_SHARPNESS): Objective {
  const read = pre(layer);
  return {
    read,
    linear: false,
    head: (a) => {
      const v = channelMeans(asMap(a, read), border);
      const { mean, variance } = tf.moments(v, 1, true);
      const z = v.sub(mean).div(tf.sqrt(variance).add(1e-6));
      return pickPerRow(tf.logSoftmax(z.mul(sharpness)) as tf.Tensor2D, channels);
    },
  };
}

/**
 * A filter objective by name (`render.lecture.filterObjective`, `render.lucid.filterObjective`).
 * `channel` and `neuron` read the layer's output (with `redirect`) or, with `preActivation`, the
 * values before its ReLU/ReLU6 clip; `cossim` and `share` always read the pre-activation.
 */
export function filterObjective(kind: FilterObjectiveKind, layer: string, channels: number[], o: { border: number; redirect: boolean; preActivation: boolean }): Objective {
  switch (kind) {
    case 'channel':
      return o.preActivation ? preActivationChannelObjective(layer, channels, o.border) : channelObjective(layer, channels, o.border, o.redirect);
    case 'neuron':
      return o.preActivation ? preActivationNeuronObjective(layer, channels) : neuronObjective(layer, channels, o.redirect);
    case 'cossim':
      return channelCossimObjective(layer, channels, o.border);
    case 'share':
      return channelShareObjective(layer, channels, o.border);
  }
}
