/**
 * What a visualization method is. A method turns a batch of units (all with one objective target:
 * the same layer, or the classes) into images, frames and an objective curve per unit.
 * Methods are listed in `methods/index.ts`; a new one is a module there.
 */
import type { DeprocessMode } from '../config/schema.ts';
import type { LeanGraph } from '../engine/graph.ts';
import type { Objective } from './objectives.ts';
import type { PixelSpace } from './pixels.ts';

export interface BatchUnit {
  key: string;
  seed: number;
}

export interface RenderBatch {
  units: BatchUnit[];
  /** Per-image objective on model inputs. */
  objective: Objective;
  /** Optimized image size (before the deprocessing crop). */
  size: [number, number];
  steps: number;
  stepSize: number;
  /** L2 penalty weight λ in objective − λ·‖x‖²/2 (canonical pixels). */
  l2: number;
  /** Record a frame every k steps (the first and the last are always recorded). */
  frameEvery: number;
  /** How frames become pixels: 'lecture' (standardize, std 0.15, crop) or 'clip' (valid range, uncropped). */
  deprocess: DeprocessMode;
  /** Pixels cropped per side by the lecture deprocessing. */
  crop: number;
  /** Optional start image, canonical [-1, 1], [h, w, 3] row-major. */
  photo?: Float32Array;
}

export interface RenderContext {
  graph: LeanGraph;
  pixels: PixelSpace;
  /** Called after every step with the step index (for progress). */
  onStep?: (step: number) => void;
  /** Checked between steps; true stops the batch early (its units are not written). */
  shouldStop?: () => boolean;
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
  /** Objective at every step (index 0 = the start image), length steps + 1. */
  curve: number[];
  /** Non-finite values in the optimization, when any: the unit failed. */
  error?: string;
}

export interface Method {
  id: string;
  name: string;
  /** One short paragraph for the site. */
  description: string;
  render(batch: RenderBatch, ctx: RenderContext): Promise<UnitResult[]>;
}
