/**
 * The schema of atlas.config.yaml (zod). Defaults live here and nowhere else. Every key's
 * `.describe()` text is its entry in docs/config.md, which `npm run docs` generates from this schema
 * (scripts/config-reference.ts): write it for the user. Keys that moved are mapped by `config/legacy.ts`.
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
const FILTER_OBJECTIVE_DOC =
  "What a filter unit maximizes: `channel`, the channel's mean activation (border ignored; the notes' objective); `neuron`, the channel at the centre of its map; `cossim`, the mean times its cosine similarity with the layer's channel means; `share`, the channel's share of the layer (log-softmax across channel means).";

/** The keys of the lecture method's settings that filters (`render.filters`) and classes (`render.classes`) share. */
const phase = (steps: number, stepSize: number, l2: number, deprocess: DeprocessMode) => ({
  steps: z.number().int().positive().default(steps).describe('Gradient-ascent steps.'),
  stepSize: z.number().positive().default(stepSize).describe('Step size of the L2-normalized gradient step, in the canonical [-1, 1] pixel space.'),
  l2: z.number().nonnegative().default(l2).describe('Weight of the L2 penalty `l2 · ‖x‖²/2` subtracted from the objective.'),
  deprocess: z
    .enum(DEPROCESS)
    .default(deprocess)
    .describe(
      'How the optimized image becomes the published one: `lecture` standardizes it to std 0.15 around grey and crops it; `clip` keeps it as optimized, clipped to the valid range (what the model classifies).',
    ),
  projected: z.boolean().optional().describe('Clip the image to the valid range after every step (projected ascent). Unset: on when `deprocess` is `clip`.'),
});

/**
 * Class units: steps in all, continuing past `steps` while the image is not its class's top-1 by a
 * margin (render/loop.ts); `auto`: CLASS_STEPS_FACTOR × steps when the image is published clipped
 * (what the model classifies is what is shown), else none; `steps` or less: no continuation.
 */
const maxSteps = z
  .union([z.number().int().positive(), z.literal('auto')])
  .default('auto')
  .describe(
    "Class continuation: a class image that is not its model's top-1 by a margin after `steps` keeps optimizing, up to this many steps in all, and stops at the first step where it leads. `auto`: 3 × `steps` for images published clipped, off otherwise; a number ≤ `steps` turns it off.",
  );
export const CLASS_STEPS_FACTOR = 3;

// Random transformations (pad, jitter, scale, rotate, jitter), drawn per unit and step (render/transforms.ts).
// Pixels as given, or `auto`: Lucid's value at 224 px scaled to the image's shorter side (render/methods/shaping.ts scaledTransforms).
const transformPixels = (lucid: number, what: string) =>
  z
    .union([z.number().int().nonnegative(), z.literal('auto')])
    .default('auto')
    .describe(`${what}; \`auto\`: Lucid's ${lucid} px at 224 px, scaled to the image's shorter side.`);

export const transformSettings = z.strictObject({
  pad: transformPixels(12, 'Pixels of padding added on every side before the other transforms'),
  jitter: transformPixels(8, 'Random shift, up to this many pixels each way'),
  scale: z
    .tuple([z.number().positive(), z.number().positive()])
    .refine(([a, b]) => a <= b, 'the first value must not be larger')
    .default([0.9, 1.1])
    .describe('Random scale factor, drawn between these two.'),
  rotate: z.number().nonnegative().max(180).default(10).describe('Random rotation, up to this many degrees each way.'),
  jitter2: transformPixels(4, 'Second random shift after scaling and rotating, up to this many pixels each way'),
  view: z
    .enum(['image', 'window'])
    .default('image')
    .describe(
      "What the model sees: `image`, a window of the image's own size at the centre of the transformed image; `window`, Lucid's whole padded image less both jitters (236 px at 224), which costs the model 1.1× as much for images that score no better.",
    ),
});
export type TransformConfig = z.infer<typeof transformSettings>;

/** Settings of the `lucid` method (render/methods/lucid.ts): one block for filters and classes. */
export const lucidSettings = z
  .strictObject({
    steps: z.number().int().positive().default(512).describe('Adam steps.'),
    lr: z.number().positive().default(0.05).describe('Adam learning rate on the Fourier coefficients.'),
    decay: z.number().nonnegative().default(1).describe('Spectrum scaling 1/f^decay: coarse patterns change as easily as fine ones (0: the plain Fourier basis).'),
    sd: z.number().positive().default(0.01).describe('Standard deviation of the seeded start spectrum.'),
    frameEvery: z.number().int().positive().default(16).describe('Keep a GIF frame every k steps (512 steps: 33 frames).'),
    transforms: transformSettings.prefault({}).describe("Random transformations at every step (Lucid's standard set)."),
    filterObjective: z.enum(FILTER_OBJECTIVES).default('channel').describe(FILTER_OBJECTIVE_DOC),
    preActivation: z.boolean().default(true).describe('Filters: optimize the channel before its ReLU/ReLU6 clip. A ReLU6 channel stops at 6 and then has no gradient; its pre-activation keeps rising.'),
    negative: z.boolean().default(false).describe('Minimize instead of maximize: what the unit responds to least.'),
    classes: z.strictObject({ maxSteps }).prefault({}).describe('Class units only.'),
  })
  .prefault({});

/**
 * Settings of the `lecture` method (render/methods/lecture.ts): pixel-space ascent with the
 * gradient L2-normalized, per unit kind, plus what only it reads (crop, frame interval, start photo).
 */
export const lectureSettings = z
  .strictObject({
    filters: z
      .strictObject(phase(30, 10, 0, 'lecture'))
      .prefault({})
      .describe('Filter units.'),
    classes: z
      .strictObject({ ...phase(40, 100, 1e-6, 'clip'), maxSteps })
      .prefault({})
      .describe('Class units: they maximize the class score minus the L2 penalty.'),
    filterObjective: z.enum(FILTER_OBJECTIVES).default('channel').describe(FILTER_OBJECTIVE_DOC),
    preActivation: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .describe('Filters: optimize the channel before its ReLU6 cap. `auto`: where the target layer caps its output, whose objective would otherwise stop at the cap with no gradient (the image freezes).'),
    crop: z
      .union([z.number().int().nonnegative(), z.literal('auto')])
      .default('auto')
      .describe("Pixels cropped per side by the `lecture` deprocessing (images of 100 px or more); `auto`: the notes' 25 at 224 px, scaled to the image."),
    frameEvery: z.number().int().positive().default(1).describe('Keep a GIF frame every k steps (the first and last always).'),
    photo: z.string().min(1).optional().describe('A start photo added to the start noise; relative to the config file.'),
    transforms: transformSettings.optional().describe("Random transformations at every step, as lucid uses them. Absent: none (the notes' method)."),
  })
  .prefault({});
export type LectureSettings = z.infer<typeof lectureSettings>;

const render = z
  .strictObject({
    methods: z.array(z.string()).min(1).default(['lecture']).describe('Visualization methods to render: `lecture`, `lucid` (see [methods.md](methods.md)).'),
    seed: z.number().int().nonnegative().default(0).describe("The atlas seed; each unit's seed is derived from it and the unit's identity."),
    size: z.number().int().min(16).max(1024).optional().describe("Optimized image size in pixels (square). Unset: the model's input size."),
    border: z
      .union([z.number().int().nonnegative(), z.literal('auto')])
      .default('auto')
      .describe("Activation pixels per side that filter objectives ignore (every method); `auto`: the notes' 2 at 224 px, scaled to the image."),
    lecture: lectureSettings.describe("The `lecture` method's settings."),
    lucid: lucidSettings.describe("The `lucid` method's settings (filters and classes)."),
    redirect: z
      .boolean()
      .default(true)
      .describe("Let the gradient reach a filter that is zero everywhere on the start image (Lucid's redirected ReLU, at the target layer only and only while no gradient arrives)."),
    gifFrameMs: z.number().int().min(20).max(10000).default(80).describe('GIF delay per frame in milliseconds; the last frame is held 10× longer.'),
    batch: z
      .union([z.literal('auto'), z.number().int().positive()])
      .default('auto')
      .describe('Units optimized together in one batch: a number, or `auto` (a short probe per layer picks the fastest).'),
    workers: z
      .union([z.literal('auto'), z.number().int().positive().max(256)])
      .default(1)
      .describe(
        'Worker processes rendering batches at once: a number, or `auto`: one on the GPU backends and `tensorflow` (they use the GPU or every core themselves), else one per physical core. Same as `--workers`.',
      ),
    backend: z
      .enum(['auto', ...BACKEND_NAMES])
      .default('auto')
      .describe('The backend that runs the model; `auto` takes the fastest that loads and logs why it skipped the others (see [performance.md](performance.md)). Same as `--backend`.'),
  })
  .prefault({});

const site = z
  .strictObject({
    title: z.string().min(1).default('Filter Atlas').describe("The site's title."),
    url: z
      .url({ protocol: /^https?$/ })
      .default('http://localhost:4321')
      .describe('Public origin, e.g. `https://you.github.io`: absolute links, snippets and social cards. Overridden by `--site-url` and `ATLAS_SITE_URL`.'),
    base: z
      .string()
      .regex(/^\/([A-Za-z0-9._~-]+\/)*$/, 'a path that starts and ends with "/", like "/" or "/my-repo/"')
      .default('/')
      .describe('Base path: `/`, or `/<repo>/` for a GitHub Pages project site. Overridden by `--base` and `ATLAS_SITE_BASE`.'),
    // The pipeline plans every unit's media to fit it (output/media-plan.ts).
    budget: z
      .union([z.number(), z.string()])
      .refine((v) => parseBytes(v) !== undefined, 'a size like "1GB", "750MB" or a number of bytes')
      .default('1GB')
      .describe("The most the published site may take (GitHub Pages: 1 GB): `1GB`, `500MB` (binary units) or bytes. Every unit's media are planned to fit it (see [media-budget.md](media-budget.md))."),
    media: z
      .enum(['budget', ...TIER_NAMES])
      .default('budget')
      .describe("`budget`: media planned to fit `budget`; `full`: every frame and image lossless whatever the size; or a tier's name to use it whatever the budget."),
  })
  .prefault({});

/**
 * Dataset examples (pipeline/dataset/): the photos of a folder that excite each filter and class
 * most. Optional: without this block no photos are read.
 */
const dataset = z.strictObject({
  folder: z.string().min(1).describe('Folder of JPEG, PNG or WebP photos, relative to the config file; `SOURCES.md` files in it give attributions.'),
  limit: z.number().int().positive().optional().describe('Use at most this many photos (the first in path order). Unset: all.'),
  topK: z.number().int().positive().max(100).default(9).describe('Photos kept per filter and class.'),
  patches: z.boolean().default(true).describe("Also keep the patch under the filter's receptive field at its strongest position."),
  recursive: z.boolean().default(true).describe('Read subfolders too.'),
  publish: z.boolean().default(true).describe('Copy thumbnails and patches into the site; `false` ranks and reports numbers but publishes no photo.'),
});
export type DatasetConfig = z.infer<typeof dataset>;

export const configSchema = z.strictObject({
  model: modelSchema.describe('Which model, its labels, and the pixels it expects (see [models.md](models.md)).'),
  layers: z.record(z.string(), filterSelection).default({}).describe('Layer name (as the model names it) → its filters: `all`, an index, a range `"a-b"`, or a list of indices and ranges.'),
  classes: z
    .array(z.union([z.number().int().nonnegative(), z.string().min(1)]))
    .default([])
    .describe("Classes to render: class ids or label names (a label's comma-separated synonyms match too)."),
  render: render.describe('How units are optimized.'),
  output: z.string().min(1).default('atlas-data').describe('Folder the pipeline writes (manifest.json and the images), relative to the config file. `--output` overrides it.'),
  site: site.describe('The static site.'),
  dataset: dataset.optional().describe('Real photos that excite each filter and class (see [dataset.md](dataset.md)). Absent: no photos are read.'),
});

export type AtlasConfig = z.infer<typeof configSchema>;
