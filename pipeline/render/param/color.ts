/**
 * Decorrelated colour space. The optimized image lives in a basis where the three colour channels
 * are roughly uncorrelated for natural images (the square root of ImageNet's RGB covariance, from
 * its eigen-decomposition); one 3×3 matrix maps it back to RGB. Olah et al., "Feature
 * Visualization" (Distill 2017), "Preconditioning and Parameterization".
 */
import * as tf from '@tensorflow/tfjs';

/** √(RGB covariance) of ImageNet images (rows: R, G, B), as published with the article above. */
const COLOR_SQRT_COV: [number, number, number][] = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/** The matrix, scaled so that its largest column has unit L2 norm (row-major, RGB = M · t). */
export function colorMatrix(): number[][] {
  const norms = [0, 1, 2].map((j) => Math.hypot(...COLOR_SQRT_COV.map((row) => row[j]!)));
  const max = Math.max(...norms);
  return COLOR_SQRT_COV.map((row) => row.map((v) => v / max));
}

/** Mᵀ [3][3]: row vectors t · Mᵀ = (M t)ᵀ (the Fourier basis applies it as its last step). */
export function colorMatrixT(): number[][] {
  const m = colorMatrix();
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => m[j]![i]!));
}

/** t: [..., 3] in the decorrelated basis → [..., 3] RGB (before the sigmoid). */
export function decorrelatedToRgb(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.matMul(t.reshape([-1, 3]) as tf.Tensor2D, tf.tensor2d(colorMatrixT())).reshape(t.shape));
}

/** Decorrelated values → canonical pixels in [-1, 1] through a sigmoid (Lucid's `to_valid_rgb`). */
export function toCanonicalPixels(t: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sigmoid(decorrelatedToRgb(t)).mul(2).sub(1) as tf.Tensor4D);
}
