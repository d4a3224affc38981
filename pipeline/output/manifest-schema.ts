/**
 * The manifest's schema (zod): the one definition of `<output>/manifest.json`, which the pipeline
 * writes and the site, bench and tests read through `readManifest` (manifest.ts). Field by field in
 * ARCHITECTURE.md.
 *
 * Older manifests must keep loading, so every field added after schema version 1 first shipped is
 * optional here (`filterObjective`, `files.zip`, `quality`, `model.labels`, `model.layers`, `examples`, `datasetQuality`, `dataset`, `live`), and a
 * non-finite number, which JSON writes as `null`, reads back as NaN.
 */
import { z } from 'zod';
import type { FilterObjectiveKind } from '../config/schema.ts';
import { datasetQualitySchema, datasetSchema, exampleSchema } from './dataset-schema.ts';
import { int, jsonNumber } from './schema-numbers.ts';

export { datasetQualitySchema, datasetSchema, exampleSchema, type DatasetExample, type DatasetQualityEntry, type DatasetSummary } from './dataset-schema.ts';

/**
 * The config's FILTER_OBJECTIVES, spelled again because config/schema.ts imports the TF.js backend
 * list and the site must not load TF.js; the type below fails to compile if the two lists differ.
 */
const FILTER_OBJECTIVES = ['channel', 'neuron', 'cossim', 'share'] as const;
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameObjectives: SameSet<(typeof FILTER_OBJECTIVES)[number], FilterObjectiveKind> = true;
void sameObjectives;

const size = z.tuple([int.positive(), int.positive()]);

/** What a class objective maximizes (render/objectives.ts `ScoreKind`). */
const SCORES = ['logit', 'logprob', 'probability'] as const;
export const methodSchema = z.object({ id: z.string().min(1), name: z.string(), description: z.string() });

export const layerSchema = z.object({
  name: z.string().min(1),
  slug: z.string().min(1),
  className: z.string(),
  /** Output shape without the batch dimension, e.g. [56, 56, 96]. */
  outputShape: z.array(int),
  /** Channels of the layer. */
  filterCount: int.nonnegative(),
  /** Filter indices rendered, ascending. */
  filters: z.array(int.nonnegative()),
  /** Contact sheets per method: 8×8 tiles each, in the order of `filters`. */
  sheets: z.record(z.string(), z.array(z.object({ file: z.string(), filters: z.array(int.nonnegative()) }))),
});

export const classSchema = z.object({ id: int.nonnegative(), label: z.string() });

/** One layer of the whole model, in graph order (the model map; issue 11). */
export const modelLayerSchema = z.object({
  name: z.string().min(1),
  className: z.string(),
  /** Without the batch dimension; null where a dimension is dynamic. */
  outputShape: z.array(int.nullable()),
  /** Names of the layers feeding it (two or more where branches merge). */
  inputs: z.array(z.string()),
});

/**
 * Settings every method writes: every value that shaped the image (`Method.settings`). `crop` is
 * the lecture's; lucid entries written before methods were bundles carry `crop: 0`. Settings objects
 * are loose: a method's newer keys survive a read and rewrite of the manifest.
 */
const commonSettings = {
  steps: int.positive(),
  stepSize: z.number(),
  l2: z.number().nonnegative(),
  size,
  border: int.nonnegative(),
  crop: int.nonnegative().optional(),
  deprocess: z.enum(['lecture', 'clip']),
  /** Filters: gradient redirected at a dead target channel. */
  redirect: z.boolean().optional(),
  /** Filters: what the objective maximizes; absent means 'channel' (so earlier atlases keep their cache keys). */
  filterObjective: z.enum(FILTER_OBJECTIVES).optional(),
  frameEvery: int.positive(),
  photo: z.string().nullable(),
  /** Classes: what the class objective maximized. */
  score: z.enum(SCORES).optional(),
  /** Filters: the objective read the target before its ReLU/ReLU6 clip. */
  preActivation: z.boolean().optional(),
  /** Classes: steps in all a unit not yet top-1 by `margin` could continue to (its curve shows the steps it ran). */
  maxSteps: int.positive().optional(),
  /** Classes: the lead (log-odds over the best other class) at which a continuing unit stopped. */
  margin: z.number().optional(),
};
const transforms = z.object({ pad: int.nonnegative(), jitter: int.nonnegative(), scale: z.tuple([z.number(), z.number()]), rotate: z.number(), jitter2: int.nonnegative() });
export const unitSettingsSchema = z.looseObject(commonSettings);

/** The lecture method's settings: the common ones; its entries carry no `method` (atlases made before lucid). */
export const lectureSettingsSchema = z.looseObject({
  method: z.literal('lecture').optional(),
  ...commonSettings,
  /** Random transforms at every step (absent: none). */
  transforms: transforms.optional(),
  /** Clipped units optimized inside the valid range (projected ascent). */
  projected: z.boolean().optional(),
});

/** The lucid method's settings (render/methods/lucid.ts `lucidUnitSettings`). */
export const lucidSettingsSchema = z.looseObject({
  method: z.literal('lucid'),
  ...commonSettings,
  /** Adam's learning rate (also in stepSize). */
  lr: z.number().positive(),
  decay: z.number().nonnegative(),
  sd: z.number().positive(),
  transforms,
  negative: z.boolean(),
});

/** A unit's settings, keyed by method (a lecture entry names none). */
export const settingsSchema = z.discriminatedUnion('method', [lectureSettingsSchema, lucidSettingsSchema]);

/** Where a filter's target ranks among its layer's channels (render/quality.ts `FilterRank`). */
const filterRank = z.object({
  /** Channels with a higher mean activation (0 = the most activated). */
  rank: int.nonnegative(),
  /** Other channels with exactly its value (e.g. ReLU6 channels at the cap). */
  ties: int.nonnegative(),
  /** The most activated channel. */
  top: int.nonnegative(),
  /** The target's value, z-scored across the layer's channels. */
  z: jsonNumber,
  channels: int.positive(),
});
export const filterQualitySchema = filterRank.extend({ preActivation: filterRank.optional() });

/** The model's verdict on a class image and on its shifted/scaled copies (render/quality.ts `ClassQuality`). */
export const classQualitySchema = z.object({
  top5: z.array(int.nonnegative()),
  top1: int.nonnegative(),
  top1IsTarget: z.boolean(),
  top5HasTarget: z.boolean(),
  jitterTop1Rate: z.number().min(0).max(1),
  jitterTop5Rate: z.number().min(0).max(1),
  copies: int.nonnegative(),
});

const unitFields = {
  /** `method/filter/<layer>/<index>` or `method/class/<id>`. */
  key: z.string().min(1),
  method: z.string().min(1),
  /** Layer name (filters) or the layer whose output is the class score (classes). */
  layer: z.string(),
  /** Filter index or class id. */
  index: int.nonnegative(),
  /** Class name (classes) or "<layer> #<index>" (filters). */
  label: z.string(),
  status: z.enum(['ok', 'failed']),
  /** Why it failed. */
  error: z.string().optional(),
  /** Flags such as "dead" (objective ~0 from start to end). */
  flags: z.array(z.string()),
  /**
   * Relative to the output folder; absent when the unit failed before writing them. `zip`: older
   * atlases lack it (the site then makes it) and so do units whose media tier makes the ZIP in the
   * browser (`media.zip: browser`). `png`: the full image, a `.jpg` where `media.image` is `jpeg`.
   * `slide`: the PNG upscaled 2× or 4× with nearest-neighbour for projectors, offered as the download
   * for slides when present.
   */
  files: z.object({ png: z.string(), webp: z.string(), gif: z.string(), zip: z.string().optional(), slide: z.string().optional() }).optional(),
  /** How the files were encoded under the media budget (output/encode-unit.ts); absent: every frame, lossless (`full`). */
  media: z
    .object({
      tier: z.enum(['full', 'large', 'medium', 'small', 'compact', 'minimum']),
      image: z.enum(['png', 'jpeg']),
      zip: z.enum(['stored', 'browser']),
      gif: z.object({ width: int.positive(), height: int.positive(), frames: z.array(int.nonnegative()).min(1) }),
    })
    .optional(),
  width: int.nonnegative(),
  height: int.nonnegative(),
  frames: int.nonnegative(),
  /** Objective at every step, index 0 = start image. */
  curve: z.array(jsonNumber),
  startObjective: jsonNumber,
  finalObjective: jsonNumber,
  seed: int,
  settings: settingsSchema,
  backend: z.string(),
  /** Wall-clock seconds of the batch divided by its size. */
  seconds: z.number(),
  /** Hash of everything that determines the pixels (model weights, unit, settings, seed, backend). */
  cacheKey: z.string(),
  /** The dataset photos that excite it most, best first (absent without a dataset or with publish: false). */
  examples: z.array(exampleSchema).optional(),
  datasetQuality: datasetQualitySchema.optional(),
};

/** What a unit's TypeScript type is: quality either shape, since a writer fills it per kind at run time. */
const unitShape = z.object({ ...unitFields, kind: z.enum(['filter', 'class']), quality: z.union([filterQualitySchema, classQualitySchema]).optional() });

/** What is validated: the quality's shape keyed by the unit's kind. */
export const unitSchema = z.discriminatedUnion('kind', [
  z.object({ ...unitFields, kind: z.literal('filter'), quality: filterQualitySchema.optional() }),
  z.object({ ...unitFields, kind: z.literal('class'), quality: classQualitySchema.optional() }),
]);

/**
 * The live page's files (`output/live-graph.ts`): the lean graph and its weight shards, published
 * once per model, fetched only when a reader starts a live render; the unit settings of every method
 * for a unit nobody rendered (the config's, as the pipeline would use them). `unavailable`: why the
 * model is not offered live (the page says so).
 */
const unitDefaults = z.object({ filter: settingsSchema, filterCapped: settingsSchema, class: settingsSchema });
export const liveSchema = z.union([
  z.object({
    /** The graph's JSON, relative to the output folder; its shards beside it. */
    graph: z.string(),
    /** Every file (the JSON and its shards), relative to the output folder. */
    files: z.array(z.string()).min(1),
    bytes: int.nonnegative(),
    weightsHash: z.string(),
    /** The atlas seed (`render.seed`): an unrendered unit's seed is `unitSeed(seed, key)`, as the pipeline's would be. */
    seed: int,
    settings: z.record(z.string(), unitDefaults),
  }),
  z.object({ unavailable: z.string() }),
]);

const manifestFields = {
  schemaVersion: z.literal(1),
  generatedAt: z.string(),
  generator: z.string(),
  site: z.object({ title: z.string(), url: z.string(), base: z.string() }),
  model: z.object({
    id: z.string(),
    /** Where it was loaded from (path or URL as configured). */
    source: z.string(),
    inputShape: z.tuple([int, int, int]),
    pixels: z.object({ range: z.tuple([z.number(), z.number()]), mean: z.array(z.number()).optional(), std: z.array(z.number()).optional() }),
    classCount: int.nonnegative(),
    /** What class objectives maximize and from which layer. */
    score: z.enum(SCORES),
    scoreLayer: z.string(),
    layerNames: z.array(z.string()),
    weightsHash: z.string(),
    /** The label of every class the model knows, index = class id (not only the rendered ones). */
    labels: z.array(z.string()).optional(),
    /** Every layer of the model in graph order, rendered or not (the model map). */
    layers: z.array(modelLayerSchema).optional(),
  }),
  backend: z.object({ name: z.string(), skipped: z.array(z.object({ name: z.string(), reason: z.string() })) }),
  methods: z.array(methodSchema),
  layers: z.array(layerSchema),
  classes: z.array(classSchema),
  /** The dataset pass (absent without a `dataset` block). */
  dataset: datasetSchema.optional(),
  /** The live page's model files (absent: made before the live page, or a shard's folder). */
  live: liveSchema.optional(),
};

export const manifestSchema = z.object({ ...manifestFields, units: z.array(unitSchema) });
/** The TypeScript type of a manifest (what `manifestSchema` returns is one). */
export const manifestShape = z.object({ ...manifestFields, units: z.array(unitShape) });

export type Manifest = z.output<typeof manifestShape>;
export type ManifestUnit = z.output<typeof unitShape>;
export type ManifestLayer = z.output<typeof layerSchema>;
export type ManifestClass = z.output<typeof classSchema>;
export type ManifestMethod = z.output<typeof methodSchema>;
export type ManifestModelLayer = z.output<typeof modelLayerSchema>;
/** The settings every method writes (lucid's add `method: 'lucid'` and its own: `LucidSettingsEntry`). */
export type UnitSettings = z.output<typeof unitSettingsSchema>;
export type LectureSettingsEntry = z.output<typeof lectureSettingsSchema>;
export type LucidSettingsEntry = z.output<typeof lucidSettingsSchema>;
export type FilterQualityEntry = z.output<typeof filterQualitySchema>;
export type ClassQualityEntry = z.output<typeof classQualitySchema>;
export type LiveFiles = z.output<typeof liveSchema>;

/** A filter unit's quality numbers (undefined for classes and for atlases made before them). */
export function filterQualityOf(unit: ManifestUnit): FilterQualityEntry | undefined {
  return unit.kind === 'filter' && unit.quality && 'rank' in unit.quality ? unit.quality : undefined;
}

/** A class unit's quality numbers (undefined for filters and for atlases made before them). */
export function classQualityOf(unit: ManifestUnit): ClassQualityEntry | undefined {
  return unit.kind === 'class' && unit.quality && 'top5' in unit.quality ? unit.quality : undefined;
}
