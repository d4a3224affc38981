/**
 * The schema of atlas.config.yaml (zod). Every key is documented in the README's config reference;
 * defaults live here and nowhere else. Keys that moved are mapped by `config/legacy.ts`.
 */
import { z } from 'zod';
import { BACKEND_NAMES } from '../engine/backend-names.ts';
import { parseBytes, TIER_NAMES } from '../output/media-plan.ts';
import { modelSchema } from './model-schema.ts';

const range = z.string().regex(/^\d+\s*-\s*\d+$/, 'a range like "0-63"');
/** `all`, one index, a range "a-b", or a list of indices and ranges. */
export const filterSelection = z.union([z.literal('all'), z.number().int().nonnegative(), range, z.array(z.union([z.number().int().nonnegative(), range])).min(1)]);
export type FilterSelection = z.infer<typeof filterSelection>;

export const DEPROCESS = ['lecture', 'clip'] as const;
export type DeprocessMode = (typeof DEPROCESS)[number];

/**
 * What a filter objective maximizes (render/objectives.ts filterObjective): the channel's mean
 * (border ignored), its centre neuron, the channel mean times its cosine similarity with the layer's
 * channel-mean vector, or the channel's share of the layer (log-softmax across channel means).
 */
export const FILTER_OBJECTIVES = ['channel', 'neuron', 'cossim', 'share'] as const;
export type FilterObjectiveKind = (typeof FILTER_OBJECTIVES)[number];

/** The keys of the lecture method's settings that filters (`render.filters`) and classes (`render.classes`) share. */
const phase = (steps: number, stepSize: number, l2: number, deprocess: DeprocessMode) => ({
  steps: z.number().int().positive().default(steps),
  stepSize: z.number().positive().default(stepSize),
  l2: z.number().nonnegative().default(l2),
  /** How images become pixels: the lecture's standardization + crop, or the optimized image clipped to the valid range. */
  deprocess: z.enum(DEPROCESS).default(deprocess),
  /** Keep the image in the valid range at every step (projected ascent). Default: when `deprocess` is `clip`. */
  projected: z.boolean().optional(),
});

/**
 * Class units: steps in all, continuing past `steps` while the image is not its class's top-1 by a
 * margin (render/loop.ts); `auto`: CLASS_STEPS_FACTOR × steps when the image is published clipped
 * (what the model classifies is what is shown), else none; `steps` or less: no continuation.
 */
const maxSteps = z.union([z.number().int().positive(), z.literal('auto')]).default('auto');
export const CLASS_STEPS_FACTOR = 3;

/** Random transformations (pad, jitter, scale, rotate, jitter), drawn per unit and step (render/transforms.ts). */
/** Pixels as given, or `auto`: Lucid's value at 224 px scaled to the image's shorter side (render/methods/shaping.ts scaledTransforms). */
const transformPixels = z.union([z.number().int().nonnegative(), z.literal('auto')]).default('auto');

export const transformSettings = z.strictObject({
  pad: transformPixels,
  jitter: transformPixels,
  scale: z
    .tuple([z.number().positive(), z.number().positive()])
    .refine(([a, b]) => a <= b, 'the first value must not be larger')
    .default([0.9, 1.1]),
  rotate: z.number().nonnegative().max(180).default(10),
  jitter2: transformPixels,
  /**
   * What the model sees: `image`, a window of the image's own size (the padded, jittered, scaled and
   * rotated image's centre), or `window`, Lucid's whole padded image less both jitters (236 px at 224).
   * `image` costs the model no more than a lecture step, and its images score as well (README, Quality numbers).
   */
  view: z.enum(['image', 'window']).default('image'),
});
export type TransformConfig = z.infer<typeof transformSettings>;

/** Settings of the `lucid` method (render/methods/lucid.ts): one block for filters and classes. */
export const lucidSettings = z
  .strictObject({
    /** Adam steps. */
    steps: z.number().int().positive().default(512),
    /** Adam learning rate on the Fourier coefficients. */
    lr: z.number().positive().default(0.05),
    /** Spectrum scaling 1/f^decay (0 = plain Fourier basis). */
    decay: z.number().nonnegative().default(1),
    /** Std of the seeded start spectrum. */
    sd: z.number().positive().default(0.01),
    /** Keep a frame every k steps for the GIF (512 steps → 33 frames). */
    frameEvery: z.number().int().positive().default(16),
    /** Random transformations at every step (Lucid's standard set). */
    transforms: transformSettings.prefault({}),
    /** Filter objective (see FILTER_OBJECTIVES). */
    filterObjective: z.enum(FILTER_OBJECTIVES).default('channel'),
    /**
     * Filters: optimize the pre-activation of a ReLU/ReLU6 layer (before the clip). A ReLU6 channel
     * saturates at 6 and then has no gradient; its pre-activation keeps rising.
     */
    preActivation: z.boolean().default(true),
    /** Minimize instead of maximize (what the unit responds to least). */
    negative: z.boolean().default(false),
    /** Class units only: continuation (see `maxSteps`). */
    classes: z.strictObject({ maxSteps }).prefault({}),
  })
  .prefault({});

/**
 * Settings of the `lecture` method (render/methods/lecture.ts): pixel-space ascent with the
 * gradient L2-normalized, per unit kind, plus what only it reads (crop, frame interval, start photo).
 */
export const lectureSettings = z
  .strictObject({
    filters: z.strictObject(phase(30, 10, 0, 'lecture')).prefault({}),
    classes: z.strictObject({ ...phase(40, 100, 1e-6, 'clip'), maxSteps }).prefault({}),
    /** The filter objective (the notes: `channel`, the mean of the layer's output). */
    filterObjective: z.enum(FILTER_OBJECTIVES).default('channel'),
    /**
     * Filters: optimize the channel before its ReLU6/clip (`auto`: where the target layer caps its
     * output, whose objective otherwise stops at the cap and whose gradient then vanishes).
     */
    preActivation: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** Margin cropped by the lecture deprocessing, in image pixels (images ≥ 100 px); `auto`: the notes' 25 at 224 px, scaled to the image. */
    crop: z.union([z.number().int().nonnegative(), z.literal('auto')]).default('auto'),
    /** Keep a frame every k steps for the GIF. */
    frameEvery: z.number().int().positive().default(1),
    /** Optional start photo added to the noise; relative to this file. */
    photo: z.string().min(1).optional(),
    /** Random transformations at every step, as lucid uses them (absent: none, the notes' method). */
    transforms: transformSettings.optional(),
  })
  .prefault({});
export type LectureSettings = z.infer<typeof lectureSettings>;

const render = z
  .strictObject({
    methods: z.array(z.string()).min(1).default(['lecture']),
    seed: z.number().int().nonnegative().default(0),
    /** Optimized image size in pixels (square). Default: the model's input size. */
    size: z.number().int().min(16).max(1024).optional(),
    /** Border ignored by filter objectives, in activation pixels (every method); `auto`: the notes' 2 at 224 px, scaled to the image. */
    border: z.union([z.number().int().nonnegative(), z.literal('auto')]).default('auto'),
    /** The lecture method's settings. */
    lecture: lectureSettings,
    /** The lucid method's settings (filters and classes). */
    lucid: lucidSettings,
    /** Let the gradient reach a filter that is dead on the start image (redirected ReLU at the target layer). */
    redirect: z.boolean().default(true),
    /** GIF delay per frame, ms (the last frame is held 10× longer). */
    gifFrameMs: z.number().int().min(20).max(10000).default(80),
    /** Units optimized together in one batch: a number, or `auto` (picked per layer by a short probe). */
    batch: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
    /** Worker processes rendering batches at once: a number, or `auto` (one per physical core on wasm/cpu, one on GPU backends). */
    workers: z.union([z.literal('auto'), z.number().int().positive().max(256)]).default(1),
    backend: z.enum(['auto', ...BACKEND_NAMES]).default('auto'),
  })
  .prefault({});

const site = z
  .strictObject({
    title: z.string().min(1).default('Filter Atlas'),
    /** Public origin, e.g. https://user.github.io (used for absolute links and social cards). */
    url: z.url({ protocol: /^https?$/ }).default('http://localhost:4321'),
    /** Base path: "/" or "/<repo>/" for a GitHub Pages project site. */
    base: z
      .string()
      .regex(/^\/([A-Za-z0-9._~-]+\/)*$/, 'a path that starts and ends with "/", like "/" or "/my-repo/"')
      .default('/'),
    /**
     * The most the published site may take (GitHub Pages: 1 GB): `1GB`, `500MB`, or bytes; binary
     * units. The pipeline plans every unit's media to fit it (output/media-plan.ts).
     */
    budget: z
      .union([z.number(), z.string()])
      .refine((v) => parseBytes(v) !== undefined, 'a size like "1GB", "750MB" or a number of bytes')
      .default('1GB'),
    /**
     * `budget`: media planned to fit `budget`; `full`: every frame and image lossless whatever the
     * size (hosting without Pages' limit); or a tier's name (`large` … `minimum`) to use it whatever the budget.
     */
    media: z.enum(['budget', ...TIER_NAMES]).default('budget'),
  })
  .prefault({});

/**
 * Dataset examples (pipeline/dataset/): the photos of a folder that excite each filter and class
 * most. Optional: without this block no photos are read.
 */
const dataset = z.strictObject({
  /** Folder of JPEG, PNG or WebP photos; relative to this file. */
  folder: z.string().min(1),
  /** Use at most this many photos (the first in path order). */
  limit: z.number().int().positive().optional(),
  /** Photos kept per filter and class. */
  topK: z.number().int().positive().max(100).default(9),
  /** Also save the patch of the photo under the filter's receptive field at its strongest position. */
  patches: z.boolean().default(true),
  /** Read photos in subfolders too. */
  recursive: z.boolean().default(true),
  /** Copy thumbnails and patches into the output (the site); false keeps private photos out of it. */
  publish: z.boolean().default(true),
});
export type DatasetConfig = z.infer<typeof dataset>;

export const configSchema = z.strictObject({
  model: modelSchema,
  /** Layer name → filters (`all`, an index, "a-b", or a list). */
  layers: z.record(z.string(), filterSelection).default({}),
  /** Class ids or label names. */
  classes: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])).default([]),
  render,
  /** Folder the pipeline writes (manifest and images); relative to this file. */
  output: z.string().min(1).default('atlas-data'),
  site,
  dataset: dataset.optional(),
});

export type AtlasConfig = z.infer<typeof configSchema>;
