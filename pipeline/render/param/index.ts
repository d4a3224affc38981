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
import { colorMatrixT } from './color.ts';
import { fourierBasis, initialSpectrum, pixelsOf, type FourierBasis } from './fourier.ts';

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

/**
 * Decorrelated-colour Fourier spectra as parameters (the basis is built for the first size asked).
 * The parameters are kept in the basis's internal layout (`FourierBasis.toInternal`, once at the
 * start); spectrum → pixels (transform, colour matrix, sigmoid) is one op with its own gradient.
 */
export function fourierImage(o: FourierOptions): Parameterization {
  let basis: FourierBasis | undefined;
  let toPixels: ReturnType<typeof pixelsOf> | undefined;
  return {
    init: (units, [h, w]) => {
      basis ??= fourierBasis(h, w, o.decay);
      toPixels ??= pixelsOf(basis, colorMatrixT());
      const spectrum = initialSpectrum(
        units.map((u) => u.seed),
        basis,
        o.sd,
      );
      const params = basis.toInternal(spectrum);
      spectrum.dispose();
      return params;
    },
    image: (params) => toPixels!.pixels(params),
    dispose: () => {
      toPixels?.dispose();
      basis?.dispose();
    },
  };
}
