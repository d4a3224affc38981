/**
 * The frames of a unit's optimization as a ZIP of numbered PNGs, for LaTeX's `animate` package:
 * unzip into a folder and write `\animategraphics[loop,autoplay]{12}{<folder>/frame-}{000}{<last>}`.
 * Pure: RGB frames in, bytes out. Deterministic (fixed timestamps, fixed order), so a rebuild gives
 * the same file. `readFramesZip` reads a unit's frames back (a new media tier is encoded from them).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { UnitPixels } from './encode-unit.ts';
import type { ManifestUnit } from './manifest.ts';
import { storedZip } from './stored-zip.ts';

import { frameName } from './frame-names.ts';

export { frameDigits, frameName } from './frame-names.ts';

export async function encodeFramesZip(frames: Uint8Array[], width: number, height: number): Promise<Buffer> {
  if (frames.length === 0) throw new Error('encodeFramesZip: no frames');
  const size = width * height * 3;
  const pngs = await Promise.all(
    frames.map((f, i) => {
      if (f.byteLength !== size) throw new Error(`encodeFramesZip: frame ${i} has ${f.byteLength} bytes, expected ${width}×${height}×3 = ${size}`);
      return sharp(f, { raw: { width, height, channels: 3 } })
        .png({ compressionLevel: 9 })
        .toBuffer();
    }),
  );
  // PNG is already deflated: the entries are stored.
  const zip = storedZip(pngs.map((png, i) => ({ name: frameName(i, frames.length), data: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) })));
  return Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
}

/** A unit's pixels read back from its stored frames ZIP (the last frame is the final image). */
export async function readFramesZip(outDir: string, u: ManifestUnit): Promise<UnitPixels> {
  const zip = unzipSync(new Uint8Array(await fs.readFile(path.join(outDir, u.files!.zip!))));
  const names = Object.keys(zip).sort();
  if (names.length !== u.frames) throw new Error(`${u.files!.zip}: ${names.length} frames, the manifest says ${u.frames}`);
  const frames = await Promise.all(names.map(async (n) => new Uint8Array(await sharp(zip[n]!).removeAlpha().raw().toBuffer())));
  return { image: frames[frames.length - 1]!, frames, width: u.width, height: u.height };
}
