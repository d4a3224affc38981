/**
 * What the site shows of the dataset: compact WebP thumbnails of the photos (the model-size centre
 * crop the model saw) and of the patches (cut from the photo at its own resolution, under the
 * receptive field's box), written atomically into `<output>/<model id>/dataset/<model key>/`.
 * Each photo is decoded once for its thumbnail and all its patches. `prunePublished` removes what
 * the manifest no longer names (removed photos, `publish: false`).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { exists, writeFileAtomic } from '../output/atomic.ts';
import { encodeThumb } from '../output/images.ts';
import { PATCH_THUMB, PHOTO_THUMB } from './files.ts';
import { coverGeometry, decodePhoto, modelCrop, readPhoto, type PhotoFile, type Rgb } from './photos.ts';
import type { Box } from './receptive-field.ts';

/** A patch to cut: its file and its box in model-input pixels. */
export interface PatchJob {
  file: string;
  box: Box;
}

/** One photo's published files. */
export interface PhotoJob {
  photo: PhotoFile;
  thumb: string;
  patches: PatchJob[];
}

/** The box (model-input pixels) mapped back to the decoded photo's pixels, at least 1×1. */
function photoRegion(img: Rgb, box: Box, size: [number, number]): { left: number; top: number; width: number; height: number } {
  const g = coverGeometry(img.width, img.height, size);
  const sx = img.width / g.scaledWidth;
  const sy = img.height / g.scaledHeight;
  const left = Math.min(img.width - 1, Math.floor((box.x + g.left) * sx));
  const top = Math.min(img.height - 1, Math.floor((box.y + g.top) * sy));
  const right = Math.min(img.width, Math.ceil((box.x + box.width + g.left) * sx));
  const bottom = Math.min(img.height, Math.ceil((box.y + box.height + g.top) * sy));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

async function encodePatch(img: Rgb, box: Box, size: [number, number]): Promise<Buffer> {
  return sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract(photoRegion(img, box, size))
    .resize(PATCH_THUMB, PATCH_THUMB, { fit: 'inside', kernel: 'cubic' })
    .webp({ quality: 82 })
    .toBuffer();
}

/** Writes a photo's thumbnail and patches that are not there yet. Returns the files written. */
export async function publishPhoto(outDir: string, job: PhotoJob, size: [number, number]): Promise<number> {
  const missing = [];
  for (const file of [job.thumb, ...job.patches.map((p) => p.file)]) if (!(await exists(path.join(outDir, file)))) missing.push(file);
  if (missing.length === 0) return 0;
  const img = await decodePhoto((await readPhoto(job.photo)).bytes);
  let written = 0;
  if (missing.includes(job.thumb)) {
    await writeFileAtomic(path.join(outDir, job.thumb), await encodeThumb(await modelCrop(img, size), size[1], size[0], PHOTO_THUMB));
    written++;
  }
  for (const p of job.patches) {
    if (!missing.includes(p.file)) continue;
    await writeFileAtomic(path.join(outDir, p.file), await encodePatch(img, p.box, size));
    written++;
  }
  return written;
}

/** Removes files under `<output>/<model id>/dataset/` that `keep` (output-relative paths) does not name. */
export async function prunePublished(outDir: string, modelId: string, keep: Set<string>): Promise<number> {
  const root = path.join(outDir, modelId, 'dataset');
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  let removed = 0;
  for (const e of entries) {
    const file = path.join(e.parentPath, e.name);
    if (!e.isFile() || keep.has(path.relative(outDir, file).split(path.sep).join('/'))) continue;
    await fs.rm(file, { force: true });
    removed++;
  }
  return removed;
}
