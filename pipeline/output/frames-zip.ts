/**
 * The frames of a unit's optimization as a ZIP of numbered PNGs, for LaTeX's `animate` package:
 * unzip into a folder and write `\animategraphics[loop,autoplay]{12}{<folder>/frame-}{000}{<last>}`.
 * Pure: RGB frames in, bytes out. Deterministic (fixed timestamps, fixed order), so a rebuild gives
 * the same file.
 */
import sharp from 'sharp';
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
