/**
 * Seeds. A unit's seed depends only on the atlas seed and the unit's identity, never on the batch
 * it runs in, so a unit's result in a batch equals its result alone.
 */
import * as tf from '@tensorflow/tfjs';

/** 32-bit FNV-1a of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

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
