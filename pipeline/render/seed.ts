/**
 * Seeds. A unit's seed depends only on the atlas seed and the unit's identity, never on the batch
 * it runs in, so a unit's result in a batch equals its result alone.
 */
import * as tf from '@tensorflow/tfjs';
import { fnv1a } from '../hash.ts';

export function unitSeed(atlasSeed: number, unitKey: string): number {
  return fnv1a(`${atlasSeed}:${unitKey}`);
}

/**
 * The lecture's start: (U(0,1) − 0.5) · 0.25 in canonical pixel space [-1, 1] (grey ± 0.125),
 * one [h, w, 3] image per seed. TF.js draws seeded uniforms in JS, so this is the same on every backend.
 */
export function lectureNoise(seeds: number[], h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => tf.stack(seeds.map((s) => tf.randomUniform([h, w, 3], 0, 1, 'float32', s).sub(0.5).mul(0.25))) as tf.Tensor4D);
}

/** mulberry32: a small seeded PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
