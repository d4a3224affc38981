/**
 * The `model` block of atlas.config.yaml (zod): which model, its labels, and the pixels it
 * expects. Defaults live here and nowhere else; each `.describe()` is the key's entry in docs/config.md.
 */
import { z } from 'zod';

const triple = z.tuple([z.number(), z.number(), z.number()]);

/** `keras.applications` preprocess modes (`preprocess_input(mode=…)`), plus raw bytes. */
export const PIXEL_PRESETS = ['tf', 'caffe', 'torch', 'raw'] as const;
export type PixelPreset = (typeof PIXEL_PRESETS)[number];

const pixels = z
  .strictObject({
    preset: z
      .enum(PIXEL_PRESETS)
      .optional()
      .describe('A `keras.applications` preprocess mode: `tf` [-1, 1]; `caffe` BGR on [0, 255] minus the ImageNet mean; `torch` [0, 1] minus the ImageNet mean, over its std; `raw` [0, 255].'),
    range: z
      .tuple([z.number(), z.number()])
      .refine(([a, b]) => a < b, 'the first value must be smaller')
      .optional()
      .describe("The pixel range, e.g. `[0, 1]`; overrides the preset's."),
    mean: triple.optional().describe("Per-channel mean subtracted after scaling to the range (in the model's channel order)."),
    std: triple.optional().describe('Per-channel divisor applied after the mean.'),
    channelOrder: z.enum(['rgb', 'bgr']).optional().describe("Channel order of the model's input (caffe-style models take `bgr`)."),
  })
  .refine((p) => p.preset !== undefined || p.range !== undefined, 'set a preset (tf, caffe, torch, raw) or a range');

export const modelSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" (it becomes part of URLs)')
    .describe('Names the model: the first part of every data URL, and the folder looked up in `ATLAS_MODELS`. Letters, digits, `.`, `_` and `-`.'),
  source: z
    .string()
    .min(1)
    .describe('The model: a Keras `.keras` or `.h5` file, a TF.js folder or `model.json`, or an http(s) URL of any of these (downloaded once into `.atlas-cache/`). Relative to the config file.'),
  labels: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Class names, index = class id: a JSON array, a JSON object with `labels` (Teachable Machine's metadata.json), or a `.txt` file with one per line. Unset: `labels.json`, `metadata.json` or `labels.txt` beside the model file; none: classes are named by index.",
    ),
  // Unset: `fromDefault` marks it; resolved against the model in render/pixel-presets.ts.
  pixels: pixels
    .optional()
    .transform((p) => p ?? { range: [-1, 1] as [number, number], fromDefault: true as const })
    .describe('The input the model expects. Unset: [0, 255] when its first layers are `Rescaling` or `Normalization`, else [-1, 1]; the run prints which and why. Set a `preset` or a `range`.'),
  score: z
    .enum(['logit', 'logprob', 'probability'])
    .default('logit')
    .describe("What class units maximize: the pre-softmax `logit`, the log-softmax `logprob` (raises the class and lowers its rivals), or the softmax `probability` (the notes')."),
});

export type ModelConfig = z.infer<typeof modelSchema>;
export type PixelsConfig = ModelConfig['pixels'];
