/**
 * Random transformations for transformation robustness (Lucid's "standard transforms"): pad with
 * grey, jitter, scale, rotate, jitter again, composed into one affine map per image (`affine.ts`:
 * the seeded draws and the geometry) and applied by bilinear sampling (`bilinear.ts`,
 * `sampling-map.ts`). This module is the render loop's side: the warp per backend and the step's
 * transforms.
 *
 * The render loop's warp (`affineWarp`), on backends whose tensors live in host memory, is bilinear
 * sampling in JS both ways (`bilinearInto`): on wasm and cpu a kernel of ours (`AtlasBilinear`) that
 * reads and writes the backend's own memory (the wasm heap: no copy, nothing for the garbage
 * collector), on tfjs-node through one copy each way. Elsewhere (WebGPU, WebGL) the forward is one
 * `Transform` kernel (TF.js's `tf.image.transform`: bilinear, grey outside) with the per-image maps
 * of the whole batch in one [B, 8] tensor, and the gradient, which that kernel lacks, one
 * `scatterND` of a sampling map (`samplingMap`; scatterND sums duplicate indices), as `warp` does:
 * the adjoint of bilinear sampling spreads each output pixel's gradient onto its four input corners
 * with the same weights. Maps come from per-image parameters, so an image's warp does not depend on
 * the rest of its batch.
 *
 * `warp` (`sampling-map.ts`: four gathers forward, scatterND backward) is the general form;
 * quality numbers use it for their jittered copies.
 */
import * as tf from '@tensorflow/tfjs';
import { randomAffine, stepSeed, transformParams, type Affine, type TransformSettings } from './affine.ts';
import { bilinearOp } from './bilinear.ts';
import type { Transforms } from './method.ts';
import { samplingMap } from './sampling-map.ts';

/** Backends whose tensors live in host memory: reading a gradient back costs a copy, not a device sync. */
const HOST_BACKENDS = new Set(['wasm', 'cpu', 'tensorflow']);

/**
 * Warps x [B, h, w, C] by one affine per image → [B, oh, ow, C]; outside the image is 0 (grey in
 * canonical pixels). On host backends both ways are bilinear sampling in JS (`bilinearOp`: in
 * place on wasm and cpu, else one copy each way); elsewhere the forward is one
 * `Transform` kernel and the gradient scatterND of the sampling map. `host` forces one or the
 * other (tests).
 */
export function affineWarp(x: tf.Tensor4D, affines: Affine[], host = HOST_BACKENDS.has(tf.getBackend())): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const size: [number, number] = [h, w];
  const out = affines[0]!.out;
  for (const a of affines) if (a.out[0] !== out[0] || a.out[1] !== out[1]) throw new Error('all transforms of a batch need one output size');
  const params = affines.map((a) => transformParams(a, size));
  return tf.tidy(() => {
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      save([]);
      const value = host ? bilinearOp('forward', input, params, size, out, c) : tf.image.transform(input as tf.Tensor4D, tf.tensor2d(params, [b, 8]), 'bilinear', 'constant', 0, out);
      return {
        value,
        gradFunc: (dy: tf.Tensor) => {
          if (host) return bilinearOp('adjoint', dy, params, size, out, c);
          const map = samplingMap(affines, size);
          const index = tf.tensor2d(map.index, [4 * map.n, 1], 'int32');
          const weighted = dy
            .reshape([1, map.n, c])
            .mul(tf.tensor2d(map.weight, [4, map.n]).reshape([4, map.n, 1]))
            .reshape([4 * map.n, c]);
          return tf.scatterND(index, weighted, [b * h * w, c]).reshape([b, h, w, c]);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(x) as tf.Tensor4D;
  });
}

/**
 * The render loop's transforms: at every step, one random affine per unit from its seed and the step,
 * ending at `out` (a fixed-size model's input) or, with `view: 'image'`, at the image's own size.
 */
export function randomTransforms(t: TransformSettings): Transforms {
  return (units, step, size, out) => {
    const view = out ?? (t.view === 'image' ? size : undefined);
    const affines = units.map((u) => randomAffine(stepSeed(u.seed, step), size, t, view));
    return (x) => affineWarp(x, affines);
  };
}
