/**
 * Parameterizations of the render loop: what is optimized and how it becomes a canonical image.
 * - `pixelImage`: the pixels themselves (the lecture notes), from the lecture's seeded noise,
 *   optionally plus a start photo.
 * - `fourierImage`: a scaled Fourier spectrum in a decorrelated colour space, squashed into valid
 *   colours by a sigmoid (Lucid), from a seeded random spectrum.
 */
import * as tf from '@tensorflow/tfjs';
import type { Parameterization } from '../method.ts';
import { lectureNoise } from '../seed.ts';
import { colorMatrixT, toCanonicalPixels } from './color.ts';
import { fourierBasis, initialSpectrum, spectrumToImage, type FourierBasis } from './fourier.ts';

/** Pixels as parameters; `photo` ([h, w, 3] canonical, row-major) is added to every start image. */
export function pixelImage(photo?: Float32Array): Parameterization {
  return {
    init: (units, [h, w]) =>
      tf.tidy(() => {
        const noise = lectureNoise(
          units.map((u) => u.seed),
          h,
          w,
        );
        return photo ? noise.add(tf.tensor3d(photo, [h, w, 3])) : noise;
      }),
    image: (params) => params as tf.Tensor4D,
    dispose: () => {},
  };
}

interface FourierOptions {
  /** Spectrum scale 1/f^decay. */
  decay: number;
  /** Std of the start spectrum. */
  sd: number;
}

/** Canonical pixels [-1, 1] of spectra [B, 2, 3, h, k]. */
function fourierToPixels(spectrum: tf.Tensor, basis: FourierBasis, colorT: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => toCanonicalPixels(spectrumToImage(spectrum, basis), colorT));
}

/** Decorrelated-colour Fourier spectra as parameters (the basis is built for the first size asked). */
export function fourierImage(o: FourierOptions): Parameterization {
  let basis: FourierBasis | undefined;
  // Built once with the basis: image() runs at every step (twice on engines that are not TF.js).
  let colorT: tf.Tensor2D | undefined;
  return {
    init: (units, [h, w]) => {
      basis ??= fourierBasis(h, w, o.decay);
      colorT ??= tf.keep(colorMatrixT());
      return initialSpectrum(
        units.map((u) => u.seed),
        basis,
        o.sd,
      );
    },
    image: (params) => fourierToPixels(params, basis!, colorT!),
    dispose: () => {
      basis?.dispose();
      colorT?.dispose();
    },
  };
}
