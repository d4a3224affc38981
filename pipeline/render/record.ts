/**
 * What a method records while a batch renders: one objective curve and one list of frames per unit,
 * turned into `UnitResult`s at the end (a non-finite objective fails its unit). Shared by every method.
 */
import type * as tf from '@tensorflow/tfjs';
import { toRgbBuffers } from './deprocess.ts';
import type { BatchUnit, UnitResult } from './method.ts';

export class BatchRecorder {
  private readonly curves: number[][];
  private readonly frames: Uint8Array[][];
  /** Whether each unit took at least one step (`movable.ts`). */
  private readonly everMoved: boolean[];

  constructor(private readonly units: BatchUnit[]) {
    this.curves = units.map(() => []);
    this.frames = units.map(() => []);
    this.everMoved = units.map(() => false);
  }

  /** Notes which units stepped (`moves`, per unit; only the units `active` marks, when given). */
  moved(moves: ArrayLike<boolean | number>, active?: boolean[]): void {
    for (let i = 0; i < this.units.length; i++) if (active?.[i] !== false && moves[i]) this.everMoved[i] = true;
  }

  /** Appends each unit's value (only the units `active` marks, when given); takes ownership of `values` ([B]). */
  async values(values: tf.Tensor1D, active?: boolean[]): Promise<void> {
    const data = await values.data();
    values.dispose();
    this.curves.forEach((c, i) => {
      if (active?.[i] !== false) c.push(data[i]!);
    });
  }

  /** Appends each unit's frame (only the units `active` marks, when given); takes ownership of `images` ([B, h, w, 3] bytes as int32). */
  async frame(images: tf.Tensor4D, active?: boolean[]): Promise<void> {
    const buffers = await toRgbBuffers(images);
    images.dispose();
    buffers.forEach((b, i) => {
      if (active?.[i] !== false) this.frames[i]!.push(b);
    });
  }

  /**
   * One result per unit; its image is its last frame. `inputs` ([B, h, w, 3] bytes as int32, taken
   * over) are the final optimized images when the frames are not them (a cropping deprocess).
   */
  async results(width: number, height: number, inputs?: tf.Tensor4D): Promise<UnitResult[]> {
    const own = inputs ? await toRgbBuffers(inputs) : undefined;
    inputs?.dispose();
    return this.units.map((u, i) => {
      const curve = this.curves[i]!;
      const frames = this.frames[i]!;
      const bad = curve.findIndex((v) => !Number.isFinite(v));
      return {
        key: u.key,
        image: frames[frames.length - 1]!,
        input: own?.[i] ?? frames[frames.length - 1]!,
        width,
        height,
        frames,
        curve,
        error: bad >= 0 ? `objective became ${curve[bad]} at step ${bad}` : undefined,
        ...(this.everMoved[i] ? {} : { still: true as const }),
      };
    });
  }
}
