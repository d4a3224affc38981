/**
 * Where the dataset's published files go and how big they are: shared by the pipeline and the site
 * (no sharp, no TF.js here). Paths are relative to the output folder; the model key
 * (`cache.ts modelKey`) keeps files of another model or input size apart.
 */
import { slug } from '../output/paths.ts';

/** Longest side of a published photo thumbnail, and of a patch. */
export const PHOTO_THUMB = 160;
export const PATCH_THUMB = 96;

export const datasetDir = (modelId: string, modelKey: string) => `${modelId}/dataset/${modelKey}`;
export const photoThumbFile = (dir: string, hash: string) => `${dir}/photos/${hash}.webp`;
export const patchThumbFile = (dir: string, layer: string, hash: string, position: number) => `${dir}/patches/${slug(layer)}/${hash}-${position}.webp`;
