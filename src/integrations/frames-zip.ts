/**
 * Frames ZIPs for data folders that predate them: a unit whose manifest entry names no `zip` (and
 * whose media tier does not leave the ZIP to the browser) gets one at build time, made from the frames of its GIF (sharp reads every page). Cached by the unit's
 * `cacheKey`, so a rebuild reuses it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { encodeFramesZip } from '../../pipeline/output/frames-zip.ts';
import type { ManifestUnit } from '../../pipeline/output/manifest.ts';
import { zipFile } from '../lib/files.ts';
import { exists, writeFileAtomic } from '../../pipeline/output/atomic.ts';
import { frameDelays, LAST_FRAME_HOLD, pageStarts } from '../../pipeline/output/images.ts';

/**
 * The frames of a unit's GIF. The encoder merges identical consecutive frames into one with their
 * delays summed (a stalled optimization repeats its image); with the unit's frame count known, each
 * page is repeated for the frames it stands for (`pageStarts`; every frame one frame time, the last held LAST_FRAME_HOLD times).
 */
export async function gifFrames(file: string, count?: number): Promise<{ frames: Uint8Array[]; width: number; height: number }> {
  const img = sharp(file, { pages: -1 });
  const { delay } = await img.metadata();
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const height = info.pageHeight ?? info.height;
  const pages = info.pages ?? 1;
  const size = info.width * height * 3;
  const page = (i: number) => new Uint8Array(data.buffer, data.byteOffset + i * size, size);
  if (!count || count === pages || !delay || delay.length !== pages) return { frames: Array.from({ length: pages }, (_, i) => page(i)), width: info.width, height };
  const frameMs = delay.reduce((a, b) => a + b, 0) / (count + LAST_FRAME_HOLD - 1);
  const starts = pageStarts(delay, frameDelays(count, frameMs));
  const repeats = starts.map((start, i) => Math.max(1, (i < pages - 1 ? starts[i + 1]! : count) - start));
  return { frames: repeats.flatMap((r, i) => Array.from({ length: r }, () => page(i))), width: info.width, height };
}

export async function zipFromGif(gif: string, count?: number): Promise<Buffer> {
  const { frames, width, height } = await gifFrames(gif, count);
  return encodeFramesZip(frames, width, height);
}

/**
 * Writes `<outDataDir>/<zip>` for every unit with files but no ZIP in `dataDir`.
 * Returns how many were made and how many came from the cache.
 */
export async function ensureFrameZips(units: ManifestUnit[], dataDir: string, outDataDir: string, cacheDir: string, concurrency = 2): Promise<{ made: number; cached: number }> {
  const limit = pLimit(concurrency);
  let made = 0;
  let cached = 0;
  await fs.mkdir(cacheDir, { recursive: true });
  await Promise.all(
    units.map((u) =>
      limit(async () => {
        // A unit whose media tier makes its ZIP in the browser publishes none (the media budget).
        if (!u.files || u.media?.zip === 'browser') return;
        const rel = zipFile(u.files);
        const target = path.join(outDataDir, rel);
        if (await exists(path.join(dataDir, rel))) return;
        const gif = path.join(dataDir, u.files.gif);
        if (!(await exists(gif))) return;
        const cacheFile = path.join(cacheDir, `${u.cacheKey || encodeURIComponent(rel)}.zip`);
        await fs.mkdir(path.dirname(target), { recursive: true });
        if (await exists(cacheFile)) {
          await fs.copyFile(cacheFile, target);
          cached++;
          return;
        }
        const zip = await zipFromGif(gif, u.frames);
        await fs.writeFile(target, zip);
        await writeFileAtomic(cacheFile, zip);
        made++;
      }),
    ),
  );
  return { made, cached };
}
