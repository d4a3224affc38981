/**
 * Where the dataset's published files go and how big they are: shared by the pipeline and the site
 * (no sharp, no TF.js here). Paths are relative to the output folder; the model key
 * (`cache.ts modelKey`) keeps files of another model or input size apart.
 */
/** Longest side of a published photo thumbnail, and of a patch. */
export const PHOTO_THUMB = 160;
export const PATCH_THUMB = 96;

export const datasetDir = (modelId: string, modelKey: string) => `${modelId}/dataset/${modelKey}`;
export const photoThumbFile = (dir: string, hash: string) => `${dir}/photos/${hash}.webp`;
/** Named by the photo and the box, what its pixels depend on: layers whose fields give the same box share it. */
export const patchThumbFile = (dir: string, hash: string, box: { x: number; y: number; width: number; height: number }) => `${dir}/patches/${hash}-${box.x}-${box.y}-${box.width}x${box.height}.webp`;
