/**
 * The `model` block of atlas.config.yaml (zod): which model, its labels, and the pixels it
 * expects. Documented in the README's config reference; defaults live here and nowhere else.
 */
import { z } from 'zod';

const triple = z.tuple([z.number(), z.number(), z.number()]);

/** `keras.applications` preprocess modes (`preprocess_input(mode=…)`), plus raw bytes. */
export const PIXEL_PRESETS = ['tf', 'caffe', 'torch', 'raw'] as const;
export type PixelPreset = (typeof PIXEL_PRESETS)[number];

const pixels = z
  .strictObject({
    /** tf: [-1, 1]; caffe: BGR on [0, 255] minus the ImageNet mean; torch: [0, 1] minus mean, over std; raw: [0, 255]. */
    preset: z.enum(PIXEL_PRESETS).optional(),
    range: z
      .tuple([z.number(), z.number()])
      .refine(([a, b]) => a < b, 'the first value must be smaller')
      .optional(),
    mean: triple.optional(),
    std: triple.optional(),
    /** Channel order of the model's input (caffe-style models take BGR). */
    channelOrder: z.enum(['rgb', 'bgr']).optional(),
  })
  .refine((p) => p.preset !== undefined || p.range !== undefined, 'set a preset (tf, caffe, torch, raw) or a range');

export const modelSchema = z.strictObject({
  /** Names the model: the folder name searched in ATLAS_MODELS, and the first part of every URL. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" (it becomes part of URLs)'),
  /** A TF.js folder or model.json, a Keras .keras or .h5 file, or an http(s) URL of any of these. */
  source: z.string().min(1),
  /** JSON array of class names, index = class id; relative to this file. Default: labels.json beside the model file. */
  labels: z.string().min(1).optional(),
  /**
   * Pixel values the model expects. Unset: [-1, 1], or [0, 255] when the model's first layers are
   * Rescaling/Normalization (`fromDefault` marks it; resolved against the model in render/pixel-presets.ts).
   */
  pixels: pixels.optional().transform((p) => p ?? { range: [-1, 1] as [number, number], fromDefault: true as const }),
  /** What a class objective maximizes: the pre-softmax logit, or the probability. */
  score: z.enum(['logit', 'probability']).default('logit'),
});

export type ModelConfig = z.infer<typeof modelSchema>;
export type PixelsConfig = ModelConfig['pixels'];
