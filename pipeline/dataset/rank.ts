/**
 * The rankings a dataset pass builds, photo by photo, in bounded memory: per configured filter
 * and class a `TopK` of photos, per filter the best mean over all photos in both reads (output and
 * pre-activation; the quality ratio compares a unit's optimized image with it in the read its
 * objective used). Nothing here grows with the number of photos.
 */
import { ARGMAX, OUT_MEAN, PRE_MAX, PRE_MEAN, STATS_PER_CHANNEL, type PhotoStats } from './activations.ts';
import { TopK } from './topk.ts';

export interface PhotoRef {
  /** Path relative to the dataset folder. */
  source: string;
  /** Content hash. */
  hash: string;
}

export interface FilterHit extends PhotoRef {
  /** The channel mean in the layer's ranking read (border ignored). */
  value: number;
  /** The channel's largest value in that read, and where ([row, col] of the layer's map, row-major index). */
  max: number;
  position: number;
}

export interface ClassHit extends PhotoRef {
  /** The class score (the logit when the model has one). */
  value: number;
  /** The model's top-1 class on the photo. */
  top1: number;
}

export interface LayerRanking {
  /** Rank by the pre-activation (what the filter objective reads at this layer) or by the output. */
  pre: boolean;
  /** The ReLU cap of the layer (undefined: no ReLU), to clip a pre-activation max into an output value. */
  cap?: number;
  filters: number[];
}

export class Rankings {
  readonly filters = new Map<string, Map<number, TopK<FilterHit>>>();
  /** Best channel mean over all photos, per layer and filter: [output, pre-activation]. */
  readonly best = new Map<string, Map<number, [number, number]>>();
  readonly classes = new Map<number, TopK<ClassHit>>();
  photos = 0;

  constructor(
    readonly layers: Map<string, LayerRanking>,
    classes: number[],
    readonly k: number,
  ) {
    for (const [layer, r] of layers) {
      this.filters.set(layer, new Map(r.filters.map((f) => [f, new TopK<FilterHit>(k)])));
      this.best.set(layer, new Map(r.filters.map((f) => [f, [-Infinity, -Infinity]])));
    }
    for (const c of classes) this.classes.set(c, new TopK<ClassHit>(k));
  }

  offer(photo: PhotoRef, stats: PhotoStats): void {
    this.photos++;
    for (const [layer, r] of this.layers) {
      const s = stats.layers.get(layer)!;
      const best = this.best.get(layer)!;
      for (const [f, top] of this.filters.get(layer)!) {
        const at = f * STATS_PER_CHANNEL;
        const [out, pre, preMax] = [s[at + OUT_MEAN]!, s[at + PRE_MEAN]!, s[at + PRE_MAX]!];
        const b = best.get(f)!;
        best.set(f, [Math.max(b[0], out), Math.max(b[1], pre)]);
        const value = r.pre ? pre : out;
        const max = r.pre || r.cap === undefined ? preMax : Math.min(Math.max(preMax, 0), r.cap);
        top.offer(value, photo.source, () => ({ ...photo, value, max, position: s[at + ARGMAX]! }));
      }
    }
    if (stats.scores) this.offerClasses(photo, stats.scores);
  }

  private offerClasses(photo: PhotoRef, scores: Float32Array): void {
    let top1 = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[top1]!) top1 = i;
    for (const [c, top] of this.classes) top.offer(scores[c]!, photo.source, () => ({ ...photo, value: scores[c]!, top1 }));
  }
}
