/**
 * Image files via sharp: full-size PNG, WebP thumbnail, looping animated GIF of the evolution,
 * and contact sheets. Encoders return buffers; callers write them atomically.
 */
import sharp from 'sharp';
import { fitSize } from './media-plan.ts';

export const THUMB_SIZE = 128;

const raw = (width: number, height: number) => ({ raw: { width, height, channels: 3 as const } });

export function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, raw(width, height)).png({ compressionLevel: 9 }).toBuffer();
}

/** A high-quality JPEG of the full image (no chroma subsampling): what LaTeX and every browser read, far smaller than PNG for noisy images. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality: number): Promise<Buffer> {
  return sharp(rgb, raw(width, height)).jpeg({ quality, chromaSubsampling: '4:4:4', mozjpeg: true }).toBuffer();
}

export function encodeThumb(rgb: Uint8Array, width: number, height: number, size = THUMB_SIZE): Promise<Buffer> {
  return sharp(rgb, raw(width, height)).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
}

/** The last GIF frame is held this many frame times (the final image stays on screen). */
export const LAST_FRAME_HOLD = 10;

/** Delay of each frame in ms: `frameMs` each, the last held `holdFactor` times longer. All non-zero. */
export function frameDelays(count: number, frameMs: number, holdFactor = LAST_FRAME_HOLD): number[] {
  const ms = Math.max(20, Math.round(frameMs));
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? Math.min(ms * holdFactor, 65535) : ms));
}

/**
 * The first frame each page of an encoded GIF shows. The encoder merges identical consecutive
 * frames into one page with their delays summed (a stalled optimization repeats its image), so page
 * p starts at the frame whose cumulative delay is nearest the pages' cumulative delay before p
 * (nearest, not equal: GIF delays are whole centiseconds).
 */
export function pageStarts(pageDelays: number[], frameDelays: number[]): number[] {
  const cumulative = [0];
  for (const d of frameDelays.slice(0, -1)) cumulative.push(cumulative[cumulative.length - 1]! + d);
  let t = 0;
  return pageDelays.map((d) => {
    let best = 0;
    cumulative.forEach((c, i) => {
      if (Math.abs(c - t) < Math.abs(cumulative[best]! - t)) best = i;
    });
    t += d;
    return best;
  });
}

/** A looping animated GIF; frames are RGB bytes of one size. */
export function encodeGif(frames: Uint8Array[], width: number, height: number, frameMs: number): Promise<Buffer> {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  const strip = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
  return sharp(strip, { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } })
    .gif({ loop: 0, delay: frameDelays(frames.length, frameMs), effort: 1 })
    .toBuffer();
}

/** libvips' palette quantization effort for compact GIFs (1–10; see encodeCompactGif). */
const GIF_EFFORT = 4;

/** How a compact GIF is encoded (libvips/cgif options; see media-plan.ts). */
export interface CompactGifOptions {
  /** Longest side in pixels (frames larger than this are reduced; never enlarged). */
  size: number;
  /** Palette size (2–256). */
  colours: number;
  /** Pixels that differ from the previous frame by at most this much are left unchanged (transparent): smaller files. */
  interFrameMaxError: number;
  /** GIF delay per frame, ms; the last frame is held LAST_FRAME_HOLD times longer. */
  frameMs: number;
}

/**
 * A small looping GIF of the frames given (already selected): each frame reduced to `size`, no
 * dithering (the noise would cost bytes and inter-frame reuse), one palette reused across frames
 * where it fits, unchanged pixels left transparent. Every frame has a non-zero delay, the last held.
 * Quantization effort 4 of 10: on a 16-frame 160-px unit, effort 10 took 4.2 s of CPU (more than
 * rendering the unit) for 1–3 % fewer bytes than effort 4 (0.34 s; 16 colours: 0.9 s vs 0.08 s).
 */
export async function encodeCompactGif(frames: Uint8Array[], width: number, height: number, o: CompactGifOptions): Promise<{ gif: Buffer; width: number; height: number }> {
  if (frames.length === 0) throw new Error('encodeCompactGif: no frames');
  const [w, h] = fitSize(width, height, o.size);
  const same = w === width && h === height;
  const small = same
    ? frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))
    : await Promise.all(frames.map((f) => sharp(f, raw(width, height)).resize(w, h, { kernel: 'lanczos3' }).raw().toBuffer()));
  const gif = await sharp(Buffer.concat(small), { raw: { width: w, height: h * frames.length, channels: 3, pageHeight: h } })
    .gif({ loop: 0, delay: frameDelays(frames.length, o.frameMs), effort: GIF_EFFORT, dither: 0, colours: o.colours, interFrameMaxError: o.interFrameMaxError, interPaletteMaxError: 8, reuse: true })
    .toBuffer();
  return { gif, width: w, height: h };
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
