/**
 * The seam between the chain compiler (`chain.ts`) and a method: **a method's step in ONNX**.
 *
 * The chain compiler unrolls K steps of the render loop into one ONNX model. It owns what every
 * method shares: the network's forward and input gradient (weights stored once), the objective's
 * value, the dead-unit test (`render/movable.ts`), the masks (finished and dead units keep their
 * state), the per-step slicing of inputs and the outputs (state, values [K, B], frames). A method
 * gives the rest as an `OnnxStep`: which tensors it carries from step to step, how one step turns
 * them into the model's input (its prefix: parameterization, transforms, pixel mapping, penalty), and
 * how the input gradient becomes the next state (the prefix's vector-Jacobian product and the update).
 *
 * Layout. Every state tensor has a host shape without the batch (`StateSpec.shape`); one of rank 3
 * is an image, NHWC on the host and NCHW inside the graph (as the compiler stores images, see
 * `rule.ts`), anything else is stored as given. `state[0]` is always the render loop's parameters, in
 * the layout of `Parameterization.init`'s tensor, so the loop can read them back (final value, frames
 * of the last image, class leads) with the method's own TF.js parts. Model inputs and their
 * gradients are in stored layout (NCHW images, Keras shape `ChainContext.inputShape`).
 *
 * Implementations: `chain-lecture.ts` (pixels, normalized ascent, clip), and the lucid method's
 * (Fourier spectrum and Adam moments as state, each step's transform parameters as step inputs).
 * They are found by the method id that `RenderPlan.chain` names (`chain-methods.ts`).
 */
import type { PixelSpace } from '../../render/pixels.ts';
import type { RenderPlan } from '../../render/method.ts';
import type { GraphBuilder } from './builder.ts';

/** A tensor carried from step to step (graph input `<name>` and output `<name>_out`). */
export interface StateSpec {
  name: string;
  /** Host shape without the batch; rank 3: an image (NHWC on the host, NCHW in the graph). */
  shape: number[];
}

/**
 * An input that changes from step to step, fed per call for its K steps: [K, B, ...shape] when
 * `perUnit` (e.g. each unit's transform of the step), else [K, ...shape] (e.g. Adam's bias
 * corrections). The step sees its slice: [B, ...shape] or [...shape], stored as given (no transpose).
 */
export interface StepInputSpec {
  name: string;
  shape: number[];
  perUnit: boolean;
}

/** What a step's prefix emits (names of tensors in the graph). */
export interface StepPrefix {
  /** The canonical image the units show ([-1, 1] RGB), NCHW [B, 3, h, w]: recorded as frames. */
  image: string;
  /** The model's input, stored layout (NCHW [B, c, h', w']). */
  input: string;
  /** Per-image penalty [B] subtracted from the objective (the lecture's L2 term), when any. */
  penalty?: string;
  /** Anything else `update` needs from the prefix (e.g. a warp's grid). */
  saved?: Record<string, string>;
}

/** What a method's step sees of the batch. */
export interface ChainContext {
  plan: RenderPlan;
  pixels: PixelSpace;
  /**
   * The model input's Keras shape without batch [h, w, c] for a prefix that keeps the image's size
   * (the plan's); a prefix that changes it (transforms) gives its own in `OnnxStep.inputSize`.
   */
  inputShape: [number, number, number];
  /** The only input size the model takes, when it takes one (`RenderContext.inputSize`): transforms end there. */
  fixedInputSize?: [number, number];
}

/** A method's step in ONNX (see the module comment). Graph methods run inside one `GraphBuilder`. */
export interface OnnxStep {
  /** The carried tensors; `state[0]` is the loop's parameters. */
  state: StateSpec[];
  /** The model input's [h, w] when the prefix changes the image's size (absent: `ChainContext.inputShape`'s). */
  inputSize?: [number, number];
  /** Host: start values of `state[1..]` for a batch of `batch` units (row-major, host layout); absent: zeros. */
  initState?(batch: number): Float32Array[];
  /** Inputs that change per step; absent: none. */
  stepInputs?: StepInputSpec[];
  /** Host: the step inputs' values for the absolute steps `steps` (one call's K), row-major, in `stepInputs` order. */
  stepFeeds?(steps: number[]): Float32Array[];
  /** Graph: one step's prefix from the state (stored layout) and this step's slices of the step inputs. */
  prefix(b: GraphBuilder, state: string[], inputs: string[]): StepPrefix;
  /**
   * Graph: the next state (stored layout, in `state` order) from `dInput` = ∂objective/∂(model
   * input), stored layout. The penalty's gradient is the method's to add. The compiler keeps the old
   * state of units that must not move (finished, or dead at this step).
   */
  update(b: GraphBuilder, state: string[], inputs: string[], prefix: StepPrefix, dInput: string): string[];
}

/** A method's step for a plan, or why this plan cannot be chained (logged once, the one-step loop runs). */
export type OnnxStepFactory = (ctx: ChainContext) => OnnxStep | string;
