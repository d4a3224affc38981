/**
 * The dataset cache: one small binary file per (model, layer, photo) in `<output>/.dataset-cache/`
 * (a dotfolder: never copied into the site), so that adding one photo to 300 computes one photo and
 * a removed photo simply stops being read (`prune` deletes what this run did not use). Keys:
 *
 *   <model key>/<node slug>/<photo content hash>.f32
 *
 * The model key hashes the weights, the pixel mapping and the input size: everything but the
 * photo that changes the activations. (The backend is not in it: backends differ in the last bits
 * only, which do not change a ranking in practice.) Files are written atomically and checked for
 * their length when read; a bad file is recomputed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../output/atomic.ts';
import { slug } from '../output/paths.ts';
import type { PixelSpace } from '../render/pixels.ts';

export const CACHE_DIR = '.dataset-cache';
/** Bump when the stats layout changes (activations.ts): every photo is recomputed. */
const CACHE_VERSION = 1;

export function modelKey(o: { weightsHash: string; pixels: PixelSpace; size: [number, number] }): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: CACHE_VERSION, weights: o.weightsHash, pixels: o.pixels, size: o.size }))
    .digest('hex')
    .slice(0, 16);
}

export class DatasetCache {
  private readonly used = new Set<string>();
  readonly root: string;

  constructor(
    outDir: string,
    private readonly model: string,
  ) {
    this.root = path.join(outDir, CACHE_DIR);
  }

  private file(node: string, photoHash: string): string {
    return path.join(this.root, this.model, slug(node), `${photoHash}.f32`);
  }

  /** The cached values of `node` for a photo, when present and `length` long. */
  async read(node: string, photoHash: string, length: number): Promise<Float32Array | undefined> {
    const file = this.file(node, photoHash);
    const bytes = await fs.readFile(file).catch(() => undefined);
    if (!bytes || bytes.byteLength !== length * 4) return undefined;
    this.used.add(file);
    // A copy: the Buffer may share a pooled ArrayBuffer at an unaligned offset.
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  async write(node: string, photoHash: string, values: Float32Array): Promise<void> {
    const file = this.file(node, photoHash);
    // Not fsynced: a cache file lost in a crash is recomputed (the length check catches a short one).
    await writeFileAtomic(file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), { durable: false });
    this.used.add(file);
  }

  /** Deletes the cache files this run did not read or write (removed photos, other models). Returns how many. */
  async prune(): Promise<number> {
    const entries = await fs.readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const e of entries) {
      const file = path.join(e.parentPath, e.name);
      if (!e.isFile() || this.used.has(file)) continue;
      await fs.rm(file, { force: true });
      removed++;
    }
    return removed;
  }
}
