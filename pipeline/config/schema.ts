/**
 * The schema of atlas.config.yaml (zod). Every key is documented in the README's config reference;
 * defaults live here and nowhere else.
 */
import { z } from 'zod';
import { BACKEND_NAMES } from '../engine/backend.ts';
import { modelSchema } from './model-schema.ts';

const range = z.string().regex(/^\d+\s*-\s*\d+$/, 'a range like "0-63"');
/** `all`, one index, a range "a-b", or a list of indices and ranges. */
export const filterSelection = z.union([z.literal('all'), z.number().int().nonnegative(), range, z.array(z.union([z.number().int().nonnegative(), range])).min(1)]);
export type FilterSelection = z.infer<typeof filterSelection>;

const triple = z.tuple([z.number(), z.number(), z.number()]);

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
});

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
    transforms: z
      .strictObject({
        pad: z.number().int().nonnegative().default(12),
        jitter: z.number().int().nonnegative().default(8),
        scale: z
          .tuple([z.number().positive(), z.number().positive()])
          .refine(([a, b]) => a <= b, 'the first value must not be larger')
          .default([0.9, 1.1]),
        rotate: z.number().nonnegative().max(180).default(10),
        jitter2: z.number().int().nonnegative().default(4),
      })
      .prefault({}),
    /** Filter objective (see FILTER_OBJECTIVES). */
    filterObjective: z.enum(FILTER_OBJECTIVES).default('channel'),
    /**
     * Filters: optimize the pre-activation of a ReLU/ReLU6 layer (before the clip). A ReLU6 channel
     * saturates at 6 and then has no gradient; its pre-activation keeps rising.
     */
    preActivation: z.boolean().default(true),
    /** Minimize instead of maximize (what the unit responds to least). */
    negative: z.boolean().default(false),
  })
  .prefault({});
export type LucidSettings = z.infer<typeof lucidSettings>;

const render = z
  .strictObject({
    methods: z.array(z.string()).min(1).default(['lecture']),
    seed: z.number().int().nonnegative().default(0),
    /** Optimized image size in pixels (square). Default: the model's input size. */
    size: z.number().int().min(16).max(1024).optional(),
    /** Border ignored by the filter objective, in activation pixels. */
    border: z.number().int().nonnegative().default(2),
    /** Margin cropped by the deprocessing, in image pixels. */
    crop: z.number().int().nonnegative().default(25),
    filters: z
      .strictObject({
        ...phase(30, 10, 0, 'lecture'),
        /** The lecture method's filter objective (the notes: `channel`, the mean of the layer's output). */
        objective: z.enum(FILTER_OBJECTIVES).default('channel'),
      })
      .prefault({}),
    classes: z.strictObject(phase(40, 100, 1e-6, 'clip')).prefault({}),
    /** The lucid method's settings (filters and classes). */
    lucid: lucidSettings,
    /** Let the gradient reach a filter that is dead on the start image (redirected ReLU at the target layer). */
    redirect: z.boolean().default(true),
    /** Keep a frame every k steps for the GIF. */
    frameEvery: z.number().int().positive().default(1),
    /** GIF delay per frame, ms (the last frame is held 10× longer). */
    gifFrameMs: z.number().int().min(20).max(10000).default(80),
    /** Optional start photo added to the noise; relative to this file. */
    photo: z.string().min(1).optional(),
    /** Units optimized together in one batch: a number, or `auto` (picked per layer by a short probe). */
    batch: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
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
  })
  .prefault({});

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
});

export type AtlasConfig = z.infer<typeof configSchema>;
