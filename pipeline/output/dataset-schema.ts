/**
 * The dataset part of the manifest (`manifest-schema.ts` holds the rest): the photos that excite a
 * unit, its dataset numbers, and the run's dataset pass (`pipeline/dataset/`).
 */
import { z } from 'zod';
import { int, jsonNumber } from './schema-numbers.ts';

/** A dataset photo that excites a unit (pipeline/dataset/): its published thumbnail and, for filters, its patch. */
export const exampleSchema = z.object({
  /** The thumbnail of the photo's model-size centre crop (what the model saw), relative to the output folder. */
  file: z.string(),
  /** Filters: the channel mean, border ignored, in the read the filter's objective uses; classes: the class score. */
  value: jsonNumber,
  /** The photo's path relative to the dataset folder. */
  source: z.string(),
  /** Credit line and licence from the dataset's SOURCES.md (a CC BY photo must show them). */
  attribution: z.string().optional(),
  license: z.string().optional(),
  /** Classes: the model's top-1 class on the photo. */
  top1: int.nonnegative().optional(),
  /** Filters: the patch under the receptive field of the channel's strongest position; box [x, y, width, height] in model-input pixels. */
  patch: z.object({ file: z.string(), value: jsonNumber, box: z.tuple([int, int, int, int]) }).optional(),
});

/** A unit's dataset numbers: how its optimized image compares with real photos. */
export const datasetQualitySchema = z.object({
  /** Photos ranked. */
  photos: int.nonnegative(),
  /** Filters: the best photo's value (channel mean in the unit objective's read). */
  best: jsonNumber.optional(),
  /** Filters: the optimized image's value (finalObjective) / best; only for the channel objective and a positive best. */
  ratio: jsonNumber.optional(),
  /** Classes: share of the top-K photos whose top-1 prediction is the class. */
  top1Share: z.number().min(0).max(1).optional(),
});

/** The dataset pass of the run (pipeline/dataset/phase.ts). */
export const datasetSchema = z.object({
  /** As configured (relative to the config). */
  folder: z.string(),
  photos: int.nonnegative(),
  /** Photos whose activations were computed in this run; the rest came from the cache. */
  computed: int.nonnegative(),
  cached: int.nonnegative(),
  /** Files that could not be read as images, with why. */
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
  topK: int.positive(),
  /** False: `dataset.publish: false`, no photo or patch is in the output. */
  published: z.boolean(),
  /** What filters are ranked by, per layer: the pre-activation or the output. */
  reads: z.record(z.string(), z.enum(['pre', 'output'])),
});

export type DatasetExample = z.output<typeof exampleSchema>;
export type DatasetQualityEntry = z.output<typeof datasetQualitySchema>;
export type DatasetSummary = z.output<typeof datasetSchema>;
