/**
 * One objective evaluation and gradient with respect to the render loop's parameters, on any
 * engine: TF.js engines differentiate the whole prefix and network together; others (ONNX) give
 * ∂value/∂input, which TF.js carries back through the prefix (parameterization, transforms, pixel
 * mapping) as a vector-Jacobian product.
 */
import * as tf from '@tensorflow/tfjs';
import type { FusedGradientEngine, GradientEngine, Objective, Prefix } from './engine.ts';

function isFused(engine: GradientEngine): engine is FusedGradientEngine {
  return typeof (engine as FusedGradientEngine).through === 'function';
}

/** value [B] (objective − penalty) and ∂value/∂params; takes no ownership of params. */
export async function valueAndGradOfParams(engine: GradientEngine, objective: Objective, prefix: Prefix, params: tf.Tensor): Promise<{ value: tf.Tensor1D; grad: tf.Tensor }> {
  if (isFused(engine)) return engine.through(objective, prefix, params);
  const { input, penalty } = tf.tidy(() => prefix(params));
  const { value, grad: inputGrad } = await engine.valueAndGrad(objective, input);
  // The input may be the parameters themselves (pixels in the model's own range): those stay.
  if (input !== params) input.dispose();
  const grad = tf.tidy(() =>
    tf.grad((p: tf.Tensor) => {
      const out = prefix(p);
      const dot = tf.sum(tf.mul(out.input, inputGrad));
      return out.penalty ? dot.sub(tf.sum(out.penalty)) : dot;
    })(params),
  );
  inputGrad.dispose();
  if (!penalty) return { value, grad };
  const total = tf.tidy(() => value.sub(penalty) as tf.Tensor1D);
  tf.dispose([value, penalty]);
  return { value: total, grad };
}
