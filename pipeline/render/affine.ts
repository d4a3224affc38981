/**
 * The geometry of Lucid's random transformations (pad with grey, jitter, scale, rotate, jitter
 * again), composed into one affine map per image: the seeded draws (`randomAffine`, from
 * `stepSeed(unitSeed, step)`: the same on every backend and in the chained ONNX step), the quality
 * checks' copies, and the map as the six numbers every sampler reads (`transformParams`).
 */
import { prng } from './seed.ts';

export interface TransformSettings {
  /** Grey margin added on every side before jittering, pixels. */
  pad: number;
  /** First jitter: random integer shift in [-jitter/2, jitter/2] (Lucid's crop by `jitter`). */
  jitter: number;
  /** Random scale range. */
  scale: [number, number];
  /** Random rotation in [-rotate, rotate] degrees. */
  rotate: number;
  /** Second jitter, after scaling and rotation. */
  jitter2: number;
  /** What the model sees: a window of the image's own size (`image`), or (absent, `window`) Lucid's padded image less both jitters. */
  view?: 'image' | 'window';
}

/** Lucid's standard transforms at 224 px (the config's `auto` values there). */
export const STANDARD_TRANSFORMS: TransformSettings = { pad: 12, jitter: 8, scale: [0.9, 1.1], rotate: 10, jitter2: 4 };

/** One image's affine transform: output centred coords → input coords. */
export interface Affine {
  /** Output size [h, w]. */
  out: [number, number];
  scale: number;
  /** Radians. */
  angle: number;
  /** Shift before scaling (input pixels) and after scaling/rotation (output pixels), [dy, dx]. */
  shift1: [number, number];
  shift2: [number, number];
}

/** Mixes a unit seed and a step into one 32-bit seed. */
export function stepSeed(seed: number, step: number): number {
  let h = (seed ^ Math.imul(step + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const int = (rand: () => number, max: number) => Math.min(max, Math.floor(rand() * (max + 1)));

/**
 * The random transform of one image at one step, drawn from `seed` (e.g. stepSeed(unitSeed, step)).
 * Its output is the padded image less both jitters (Lucid's), or `fixed` when given: the centre of
 * that window (the image's own size, or a fixed-size model's input).
 */
export function randomAffine(seed: number, size: [number, number], t: TransformSettings, fixed?: [number, number]): Affine {
  const rand = prng(seed);
  const out: [number, number] = fixed ?? [size[0] + 2 * t.pad - t.jitter - t.jitter2, size[1] + 2 * t.pad - t.jitter - t.jitter2];
  const shift1: [number, number] = [int(rand, t.jitter) - t.jitter / 2, int(rand, t.jitter) - t.jitter / 2];
  const scale = t.scale[0] + (t.scale[1] - t.scale[0]) * rand();
  const angle = ((2 * rand() - 1) * t.rotate * Math.PI) / 180;
  const shift2: [number, number] = [int(rand, t.jitter2) - t.jitter2 / 2, int(rand, t.jitter2) - t.jitter2 / 2];
  return { out, scale, angle, shift1, shift2 };
}

/** Identity-sized copy transform for quality checks: shift (pixels) and scale, no padding. */
export function copyAffine(size: [number, number], shift: [number, number], scale: number): Affine {
  return { out: size, scale, angle: 0, shift1: [0, 0], shift2: shift };
}

/**
 * The `tf.image.transform` parameters [a0, a1, a2, b0, b1, b2, 0, 0] of an affine: output pixel
 * (x, y) samples its input at (a0·x + a1·y + a2, b0·x + b1·y + b2) — the same point as `samplingMap`.
 */
export function transformParams(a: Affine, size: [number, number]): number[] {
  const [h, w] = size;
  const [oh, ow] = a.out;
  const cos = Math.cos(a.angle) / a.scale;
  const sin = Math.sin(a.angle) / a.scale;
  const ty = (oh - 1) / 2 + a.shift2[0];
  const tx = (ow - 1) / 2 + a.shift2[1];
  return [cos, sin, (w - 1) / 2 - a.shift1[1] - sin * ty - cos * tx, -sin, cos, (h - 1) / 2 - a.shift1[0] - cos * ty + sin * tx, 0, 0];
}
