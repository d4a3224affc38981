/**
 * What a visualization method is: a bundle of parts that one render loop (`loop.ts`) runs —
 * a parameterization (what is optimized and how it becomes an image), an optimizer, optional
 * random transforms, a display deprocessing — plus the method's settings (from its own config
 * block), its objective and the settings that shape its pixels (cache keys). Methods are listed in
 * `methods/index.ts`; `run.ts` reaches them only through this interface.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AtlasConfig } from '../config/schema.ts';
import type { GradientEngine, Objective } from '../engine/engine.ts';
import type { UnitKind } from '../output/paths.ts';
import type { DisplayDeprocess } from './deprocess.ts';
import type { PixelSpace } from './pixels.ts';

export interface BatchUnit {
  key: string;
  seed: number;
}

/** What is optimized: parameters θ and the canonical image ([-1, 1] RGB) they make. */
export interface Parameterization {
  /** Start parameters of the units, each from its own seed (so a unit's start does not depend on its batch). */
  init(units: BatchUnit[], size: [number, number]): tf.Tensor;
  /** Canonical images [B, h, w, 3] of the parameters. Differentiable, inside tidy. */
  image(params: tf.Tensor): tf.Tensor4D;
  dispose(): void;
}

/** One ascent update: the next parameters from the current ones and the objective's gradient. */
export interface Optimizer {
  /** Returns new parameters; takes no ownership of `params` or `grad`. Keeps its own state. */
  step(params: tf.Tensor, grad: tf.Tensor, step: number): tf.Tensor;
  dispose(): void;
}

/** The random transforms of one step, drawn per unit from its seed and the step; undefined: none. */
/** A step's transforms of the images (`size`); `out`, when given, is the size they must end at (a model that takes one input size). */
export type Transforms = (units: BatchUnit[], step: number, size: [number, number], out?: [number, number]) => ((x: tf.Tensor4D) => tf.Tensor4D) | undefined;

/** Everything the render loop needs for one batch. */
export interface RenderPlan {
  units: BatchUnit[];
  objective: Objective;
  /** Optimized image size [h, w] (before any display crop). */
  size: [number, number];
  steps: number;
  /** Record a frame every k steps (the first and the last are always recorded). */
  frameEvery: number;
  parameterization: Parameterization;
  optimizer: Optimizer;
  transforms?: Transforms;
  /** L2 penalty weight λ in objective − λ·‖x‖²/2 (canonical pixels). */
  l2: number;
  deprocess: DisplayDeprocess;
  /**
   * Class units: after `steps`, a unit whose image is not its class's top-1 by `margin` (the
   * objective's `lead`, in log-odds) keeps going, up to `maxSteps` in all; the others stop there.
   */
  continuation?: Continuation;
  /**
   * The plan's step as plain data, for engines that compile whole steps into one model
   * (`engine/onnx/chain-methods.ts` finds the method's `OnnxStep` by `method`); absent: one engine
   * call per step. It must describe the same step as `parameterization`, `optimizer` and `transforms`.
   */
  chain?: ChainRecipe;
}

/** A method's step as data: the method id and whatever its ONNX step needs beyond the plan. */
export interface ChainRecipe {
  method: string;
  options: Readonly<Record<string, unknown>>;
}

export interface Continuation {
  maxSteps: number;
  margin: number;
}

export interface RenderContext {
  engine: GradientEngine;
  pixels: PixelSpace;
  /** Called after every step with the step index (for progress). */
  onStep?: (step: number) => void;
  /** The only input size the model takes (it flattens a feature map): transforms end at this size. */
  inputSize?: [number, number];
}

export interface UnitResult {
  key: string;
  /** Final image, RGB bytes, deprocessed. */
  image: Uint8Array;
  width: number;
  height: number;
  /**
   * The final optimized image itself, clipped to the valid range and uncropped (the batch's size),
   * RGB bytes: what the model's response is measured on (quality numbers). The same bytes as `image`
   * when the deprocessing only clips.
   */
  input: Uint8Array;
  /** Deprocessed frames of the evolution, first to last. */
  frames: Uint8Array[];
  /** Objective at every step (index 0 = the start image), length steps + 1 (more when a class unit continued). */
  curve: number[];
  /** Non-finite values in the optimization, when any: the unit failed. */
  error?: string;
  /** The unit never stepped: its objective could not move by more than float rounding (`movable.ts`). */
  still?: true;
}

/** A unit's settings: every value that shaped its pixels (stored in the manifest, hashed into its cache key). */
export interface MethodSettings {
  /** Optimization steps (progress counts them). */
  steps: number;
  /** A start photo (path relative to the config) the method reads, or null. */
  photo: string | null;
}

/** Where a batch's objective reads: filters of one layer, or classes at the score node. */
export interface BatchTarget {
  kind: UnitKind;
  /** The layer (filters) or the score node (classes). */
  node: string;
  /** Filter indices or class ids, one per unit. */
  indices: number[];
  /** Classes: whether `node` is the pre-softmax logit. */
  isLogit: boolean;
}

/** Facts a unit's settings depend on beyond the config. */
export interface SettingsContext {
  size: [number, number];
  /** The unit's target layer caps its output (ReLU6 or a clip): its objective stalls at the cap. */
  capped: boolean;
}

export interface Method<S extends MethodSettings = MethodSettings> {
  id: string;
  name: string;
  /** One short paragraph for the site. */
  description: string;
  /** The unit settings of this method for a unit kind, from the validated config. */
  settings(config: AtlasConfig, kind: UnitKind, ctx: SettingsContext): S;
  /** The settings that shape a unit's pixels (its cache key): the rest is recorded but does not recompute. */
  shaping(settings: S, kind: UnitKind): Partial<S>;
  /** The objective of a batch of units that share settings and a target. */
  objective(settings: S, target: BatchTarget): Objective;
  /** The render plan of a batch; `photo` is the decoded start photo when the settings name one. */
  plan(settings: S, units: BatchUnit[], objective: Objective, photo?: Float32Array): RenderPlan;
}
