/**
 * One objective evaluation and gradient with respect to the render loop's parameters, on any
 * engine: TF.js engines differentiate the whole prefix and network together; others (ONNX) give
 * ∂value/∂input, which TF.js carries back through the prefix (parameterization, transforms, pixel
 * mapping) as a vector-Jacobian product. Each image's input span (Σ |∂objective/∂input|·width) comes
 * with it, for the render loop's test of whether the unit can move at all (`render/movable.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import type { FusedGradientEngine, GradientEngine, Objective, Prefix } from './engine.ts';

function isFused(engine: GradientEngine): engine is FusedGradientEngine {
  return typeof (engine as FusedGradientEngine).through === 'function';
}

/** One step's value, gradient, and each image's input span (`render/movable.ts`). */
export interface ParamsStep {
  /** [B] objective − penalty. */
  value: tf.Tensor1D;
  /** ∂value/∂params. */
  grad: tf.Tensor;
  /** [B] Σ |∂objective/∂input|·width_c: how far, to first order, the objective could move over the valid input. */
  span: tf.Tensor1D;
}

/** Σ over each image of |g|·widths (per channel, the last axis). */
const spanOf = (inputGrad: tf.Tensor4D, widths: tf.Tensor1D) => tf.tidy(() => tf.sum(tf.mul(tf.abs(inputGrad), widths), [1, 2, 3]) as tf.Tensor1D);

/**
 * value [B] (objective − penalty), ∂value/∂params and the input span; takes no ownership of params.
 * `widths`: the width of each model-input channel's valid range (`inputWidths`).
 */
export async function valueAndGradOfParams(engine: GradientEngine, objective: Objective, prefix: Prefix, params: tf.Tensor, widths: tf.Tensor1D): Promise<ParamsStep> {
  if (isFused(engine)) {
    const { value, grad, inputGrad } = engine.through(objective, prefix, params);
    const span = spanOf(inputGrad, widths);
    inputGrad.dispose();
    return { value, grad, span };
  }
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
  const span = spanOf(inputGrad, widths);
  inputGrad.dispose();
  if (!penalty) return { value, grad, span };
  const total = tf.tidy(() => value.sub(penalty) as tf.Tensor1D);
  tf.dispose([value, penalty]);
  return { value: total, grad, span };
}
