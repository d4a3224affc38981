/**
 * The TF.js engine: the lean graph run by the active TF.js backend (wasm, cpu, WebGPU, tfjs-node).
 * It differentiates the render loop's prefix and the network in one `tf.valueAndGrad`, so a step
 * is one forward and one backward pass, exactly as before engines were pluggable.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureRead, FusedGradientEngine, Objective, Prefix } from './engine.ts';
import type { LeanGraph } from './graph.ts';

/**
 * A layer's pre-activation: for a ReLU/ReLU6 output (the lean graph's `relu.pre`), the values before
 * the clip; otherwise the layer's output. A ReLU6 channel saturates at 6 everywhere long before the
 * optimization is done (and then has no gradient); its pre-activation keeps rising.
 */
export function preActivation(graph: LeanGraph, x: tf.Tensor4D, layer: string): tf.Tensor {
  const node = graph.nodes.find((n) => n.name === layer);
  if (!node) throw new Error(`no layer named "${layer}"`);
  if (!node.relu) return graph.run(x, [layer])[0]!;
  return node.relu.pre(graph.run(x, node.inputs));
}

/** The feature map `read` at model input x. Inside tidy. */
function readFeatures(graph: LeanGraph, x: tf.Tensor4D, read: FeatureRead): tf.Tensor {
  return read.pre ? preActivation(graph, x, read.node) : graph.run(x, [read.node], { redirect: read.redirect })[0]!;
}

/** The objective's per-image values at model input x. Inside tidy. */
export function evaluate(objective: Objective, graph: LeanGraph, x: tf.Tensor4D): tf.Tensor1D {
  return objective.head(readFeatures(graph, x, objective.read));
}

export function tfjsEngine(graph: LeanGraph): FusedGradientEngine {
  return {
    name: `tfjs-${tf.getBackend()}`,
    async valueAndGrad(objective, x) {
      return tf.tidy(() => {
        const { value, grad } = tf.valueAndGrad((input: tf.Tensor) => evaluate(objective, graph, input as tf.Tensor4D))(x, tf.ones([x.shape[0]]));
        return { value: value as tf.Tensor1D, grad: grad as tf.Tensor4D };
      });
    },
    through(objective: Objective, prefix: Prefix, params: tf.Tensor) {
      // The gradient reaching the model input is caught on its way back by an identity (`tap`).
      let inputGrad: tf.Tensor4D | undefined;
      const tap = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
        value: (args[0] as tf.Tensor).clone(),
        gradFunc: (dy: tf.Tensor) => {
          inputGrad = tf.keep(dy.clone()) as tf.Tensor4D;
          return dy;
        },
      }));
      const result = tf.tidy(() => {
        const f = (p: tf.Tensor) => {
          const { input, penalty } = prefix(p);
          const value = evaluate(objective, graph, tap(input) as tf.Tensor4D);
          return penalty ? (value.sub(penalty) as tf.Tensor1D) : value;
        };
        const { value, grad } = tf.valueAndGrad(f)(params, tf.ones([params.shape[0]!]));
        return { value: value as tf.Tensor1D, grad };
      });
      // No gradient reached the input (an objective that does not depend on it): zero, so its span is 0.
      return { ...result, inputGrad: inputGrad ?? tf.zeros([params.shape[0]!, 1, 1, 1]) };
    },
    async features(reads, x) {
      return tf.tidy(() => reads.map((r) => readFeatures(graph, x, r)));
    },
    dispose() {},
  };
}
