/**
 * The dataset's photos: the folder listed (checked before the output folder is touched, so a
 * missing or empty folder exits 2 with nothing written), each file read once, hashed by content
 * and decoded by sharp: EXIF orientation applied, transparency flattened onto grey, grayscale and
 * CMYK converted to sRGB. A file sharp cannot read is reported, never fatal.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { LoadedConfig } from '../config/load.ts';
import type { DatasetConfig } from '../config/schema.ts';
import { AtlasError } from '../errors.ts';
import { locate } from '../run/prepare.ts';

/** File types read as photos (by extension, case-insensitive); other files (SOURCES.md, CSVs) are ignored. */
export const PHOTO_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface PhotoFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the dataset folder, with '/' (the photo's name in the manifest and the log). */
  rel: string;
}

export interface DatasetInput {
  config: DatasetConfig;
  folder: string;
  photos: PhotoFile[];
}

const where = (key: string) => ({ key: `dataset.${key}`, path: ['dataset', key] });

async function walk(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter(
      (f) =>
        !path
          .relative(dir, f)
          .split(path.sep)
          .some((part) => part.startsWith('.')),
    );
}

/**
 * The photos of `dataset.folder` (relative to the config), in path order, at most `limit`.
 * Throws AtlasError (exit 2, config line added) when the folder is missing, not a folder or holds
 * no photo.
 */
export async function listDataset(loaded: LoadedConfig): Promise<DatasetInput | undefined> {
  const config = loaded.config.dataset;
  if (!config) return undefined;
  const folder = path.resolve(loaded.dir, config.folder);
  const fail = (what: string) => locate(loaded, new AtlasError(`dataset.folder: ${folder} ${what}`, where('folder')));
  const stat = await fs.stat(folder).catch(() => undefined);
  if (!stat) throw fail('does not exist; expected a folder of JPEG, PNG or WebP photos');
  if (!stat.isDirectory()) throw fail('is a file; expected a folder of JPEG, PNG or WebP photos');
  const files = (await walk(folder, config.recursive)).filter((f) => PHOTO_EXTENSIONS.includes(path.extname(f).toLowerCase()));
  if (files.length === 0) {
    throw fail(`holds no photos (${PHOTO_EXTENSIONS.join(', ')}${config.recursive ? ', subfolders included' : ''}); expected at least one`);
  }
  const photos = files
    .map((abs) => ({ abs, rel: path.relative(folder, abs).split(path.sep).join('/') }))
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
    .slice(0, config.limit ?? Infinity);
  return { config, folder, photos };
}

/** A photo's bytes and their hash (the cache key's part for the photo). */
export async function readPhoto(photo: PhotoFile): Promise<{ bytes: Buffer; hash: string }> {
  const bytes = await fs.readFile(photo.abs);
  return { bytes, hash: createHash('sha256').update(bytes).digest('hex').slice(0, 24) };
}

/** RGB bytes, row-major. */
export interface Rgb {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** Decodes a photo upright, in sRGB, without alpha (transparency onto mid grey). Rejects what sharp cannot read. */
export async function decodePhoto(bytes: Buffer): Promise<Rgb> {
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .autoOrient()
    .flatten({ background: { r: 128, g: 128, b: 128 } })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** How a photo of `width`×`height` maps to the model input: scaled to cover `size` [h, w], then centre-cropped. */
export interface Cover {
  /** Scaled size before the crop. */
  scaledWidth: number;
  scaledHeight: number;
  /** Crop offset in scaled pixels. */
  left: number;
  top: number;
}

export function coverGeometry(width: number, height: number, size: [number, number]): Cover {
  const scale = Math.max(size[1] / width, size[0] / height);
  const scaledWidth = Math.max(size[1], Math.round(width * scale));
  const scaledHeight = Math.max(size[0], Math.round(height * scale));
  return { scaledWidth, scaledHeight, left: Math.floor((scaledWidth - size[1]) / 2), top: Math.floor((scaledHeight - size[0]) / 2) };
}

const raw = (img: Rgb) => ({ raw: { width: img.width, height: img.height, channels: 3 as const } });

/** The model-input-sized centre crop of a decoded photo (what the model sees), RGB bytes. */
export async function modelCrop(img: Rgb, size: [number, number]): Promise<Uint8Array> {
  const g = coverGeometry(img.width, img.height, size);
  const data = await sharp(img.rgb, raw(img))
    .resize(g.scaledWidth, g.scaledHeight, { fit: 'fill', kernel: 'lanczos3' })
    .extract({ left: g.left, top: g.top, width: size[1], height: size[0] })
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
