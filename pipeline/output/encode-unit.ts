/**
 * A rendered unit's published files under its media tier (media-plan.ts): the full image (PNG, or
 * JPEG under a tight budget), the WebP thumbnail, the GIF (every frame with today's encoder, or
 * frames chosen by change, reduced and palette-limited) and, where the tier stores one, the frames
 * ZIP. Pure: bytes in, bytes out; runs in the main process or a worker.
 */
import { encodeFramesZip } from './frames-zip.ts';
import { selectFramesByChange } from './frame-select.ts';
import sharp from 'sharp';
import { encodeCompactGif, encodeGif, encodeJpeg, encodePng, encodeThumb, frameDelays, pageStarts } from './images.ts';
import type { MediaTier } from './media-plan.ts';

/** What the manifest records of a unit's media (`units[].media`): how its files were encoded. */
export interface UnitMedia {
  tier: MediaTier['name'];
  image: 'png' | 'jpeg';
  zip: 'stored' | 'browser';
  /** The GIF's size and which recorded frames (indices into the unit's `frames`) it shows, in order. */
  gif: { width: number; height: number; frames: number[] };
}

/** A unit's encoded files: `image` is the full image (PNG or JPEG as `media.image` says); `zip` only where the tier stores one. */
export interface EncodedUnit {
  image: Uint8Array;
  webp: Uint8Array;
  gif: Uint8Array;
  zip?: Uint8Array;
  media: UnitMedia;
}

/** What encoding needs of a rendered unit. */
export interface UnitPixels {
  image: Uint8Array;
  frames: Uint8Array[];
  width: number;
  height: number;
}

/** Which recorded frame (of `given`, in GIF order) each page of an encoded GIF shows; the last page shows the final frame. */
export async function gifPages(gif: Uint8Array, given: number[], frameMs: number): Promise<number[]> {
  const { pages = 1, delay = [] } = await sharp(gif, { pages: -1 }).metadata();
  if (pages === given.length) return given;
  return pageStarts(delay, frameDelays(given.length, frameMs)).map((start, p) => given[p === pages - 1 ? given.length - 1 : start]!);
}

export async function encodeUnit(r: UnitPixels, gifFrameMs: number, tier: MediaTier): Promise<EncodedUnit> {
  const { image, frames, width, height } = r;
  const imageBytes = tier.image.format === 'png' ? encodePng(image, width, height) : encodeJpeg(image, width, height, tier.image.quality);
  const thumb = encodeThumb(image, width, height);
  if (tier.gif.encoder === 'full') {
    const [img, webp, gif, zip] = await Promise.all([imageBytes, thumb, encodeGif(frames, width, height, gifFrameMs), tier.zip === 'stored' ? encodeFramesZip(frames, width, height) : undefined]);
    const shown = await gifPages(
      gif,
      frames.map((_, i) => i),
      gifFrameMs,
    );
    return { image: img, webp, gif, ...(zip ? { zip } : {}), media: { tier: tier.name, image: tier.image.format, zip: tier.zip, gif: { width, height, frames: shown } } };
  }
  const picked = selectFramesByChange(frames, tier.gif.frames);
  const [img, webp, g, zip] = await Promise.all([
    imageBytes,
    thumb,
    encodeCompactGif(
      picked.map((i) => frames[i]!),
      width,
      height,
      { size: tier.gif.size, colours: tier.gif.colours, interFrameMaxError: tier.gif.interFrameMaxError, frameMs: gifFrameMs },
    ),
    tier.zip === 'stored' ? encodeFramesZip(frames, width, height) : undefined,
  ]);
  const shown = await gifPages(g.gif, picked, gifFrameMs);
  return { image: img, webp, gif: g.gif, ...(zip ? { zip } : {}), media: { tier: tier.name, image: tier.image.format, zip: tier.zip, gif: { width: g.width, height: g.height, frames: shown } } };
}
