/**
 * Whether a unit's objective can move at all: a filter whose weights are (nearly) zero has a constant
 * objective and an input gradient of float-rounding size, which a normalized step (or Adam) would
 * blow up into full-size random steps. Such a step is not taken, on every engine path (the one-step
 * loop, `step.ts`, and the chained graph, `engine/onnx/chain.ts`), and a unit that never moved is
 * flagged `dead` (`flags.ts`).
 *
 * The test. To first order, the most the objective f can change over the whole valid input (every
 * input value anywhere in its range, width w_c in channel c) is the span Σ |∂f/∂input|·w_c. float32
 * cannot tell apart values of f closer than 2⁻²³·|f| (one unit in the last place, relative): when even
 * the span is below that, no image the model accepts can change f by a representable amount, so the
 * gradient's direction is rounding noise. The floor of |f| at 1 (an activation's own scale) keeps an
 * objective that happens to sit at 0 from making any noise gradient look real. Measured on MobileNet
 * v1 0.75 at 64 px: `conv_pw_2_relu` filter 10 (weights ~6e-12) spans ~1e-9 against a threshold of
 * 2e-7; its live neighbours span ~1e-1 and more.
 */
import type { PixelSpace } from './pixels.ts';

/** float32's relative resolution (machine epsilon, 2⁻²³). */
export const FLOAT32_RESOLUTION = 2 ** -23;

/** The width of the valid range of each model-input channel: (hi − lo) / std. */
export function inputWidths(space: PixelSpace): number[] {
  const [lo, hi] = space.range;
  const c = space.channels ?? 3;
  return Array.from({ length: c }, (_, i) => (hi - lo) / (space.std?.[i] ?? 1));
}

/** The threshold the span must exceed for a step at objective value `value`. */
export const noiseFloor = (value: number): number => FLOAT32_RESOLUTION * Math.max(Math.abs(value), 1);

/** Whether a step at `value` with input-gradient span `span` moves the objective by more than float rounding. */
export const canMove = (value: number, span: number): boolean => span > noiseFloor(value);
