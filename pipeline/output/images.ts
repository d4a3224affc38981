/**
 * Image files via sharp: full-size PNG, WebP thumbnail, looping animated GIF of the evolution,
 * and contact sheets. Encoders return buffers; callers write them atomically.
 */
import sharp from 'sharp';

export const THUMB_SIZE = 128;

const raw = (width: number, height: number) => ({ raw: { width, height, channels: 3 as const } });

export function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, raw(width, height)).png({ compressionLevel: 9 }).toBuffer();
}

export function encodeThumb(rgb: Uint8Array, width: number, height: number, size = THUMB_SIZE): Promise<Buffer> {
  return sharp(rgb, raw(width, height)).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
}

/** Delay of each frame in ms: `frameMs` each, the last held `holdFactor` times longer. All non-zero. */
/** The last GIF frame is held this many frame times (the final image stays on screen). */
export const LAST_FRAME_HOLD = 10;

export function frameDelays(count: number, frameMs: number, holdFactor = LAST_FRAME_HOLD): number[] {
  const ms = Math.max(20, Math.round(frameMs));
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? Math.min(ms * holdFactor, 65535) : ms));
}

/** A looping animated GIF; frames are RGB bytes of one size. */
export function encodeGif(frames: Uint8Array[], width: number, height: number, frameMs: number): Promise<Buffer> {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  const strip = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
  return sharp(strip, { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } })
    .gif({ loop: 0, delay: frameDelays(frames.length, frameMs), effort: 1 })
    .toBuffer();
}

/**
 * Contact sheet: up to cols × cols tiles in reading order, `margin` black pixels between tiles
 * (none outside), like the lecture's 8×8 grids. Missing tiles stay black.
 */
export function contactSheet(tiles: (Uint8Array | undefined)[], width: number, height: number, cols = 8, margin = 5): { rgb: Uint8Array; width: number; height: number } {
  const n = tiles.length;
  const c = Math.min(cols, Math.max(n, 1));
  const rows = Math.max(1, Math.ceil(n / c));
  const W = c * width + (c - 1) * margin;
  const H = rows * height + (rows - 1) * margin;
  const out = new Uint8Array(W * H * 3);
  tiles.forEach((tile, i) => {
    if (!tile) return;
    const x0 = (i % c) * (width + margin);
    const y0 = Math.floor(i / c) * (height + margin);
    for (let y = 0; y < height; y++) out.set(tile.subarray(y * width * 3, (y + 1) * width * 3), ((y0 + y) * W + x0) * 3);
  });
  return { rgb: out, width: W, height: H };
}

/** Decodes an image file to RGB bytes (contact sheets, photos). Resizes to cover w×h when given. */
export async function decodeRgb(file: string, size?: [number, number]): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  let img = sharp(file).removeAlpha().toColourspace('srgb');
  if (size) img = img.resize(size[1], size[0], { fit: 'cover' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
