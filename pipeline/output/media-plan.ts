/**
 * The media budget: how each unit's published files are encoded so that the whole atlas fits
 * `site.budget` (GitHub Pages publishes at most 1 GB). Pure: unit shapes and a byte budget in, the
 * richest tier whose estimate fits out. The estimates are bytes per pixel measured on real
 * MobileNet units (`bench/media.ts`; docs/media-budget.md), per deprocessing: the lecture's
 * standardized images compress better than clipped ones (classes, lucid), whose noise does not.
 */

/** What a unit looks like before it is rendered: enough to estimate its files. */
export interface UnitShape {
  kind: 'filter' | 'class';
  /** `lecture` (standardized, cropped) or `clip`: the clipped images are noisier, so larger. */
  deprocess: 'lecture' | 'clip';
  width: number;
  height: number;
  /** Frames the render records (the GIF's source). */
  frames: number;
}

export type ImageEncoding = { format: 'png' } | { format: 'jpeg'; quality: number };
export type GifEncoding = { encoder: 'full' } | { encoder: 'compact'; frames: number; size: number; colours: number; interFrameMaxError: number };

/** One rung of the ladder: how every unit's files are encoded. */
/** The tiers' names, richest first (the ladder TIERS follows this order). */
export const TIER_NAMES = ['full', 'large', 'medium', 'small', 'compact', 'minimum'] as const;

export interface MediaTier {
  name: (typeof TIER_NAMES)[number];
  /** The full-size final image. */
  image: ImageEncoding;
  /** The GIF of the optimization: every recorded frame losslessly quantized (`full`), or frames chosen by change, reduced and palette-limited. */
  gif: GifEncoding;
  /** Frames download: a stored ZIP of every recorded frame as PNG, or made in the browser from the published GIF. */
  zip: 'stored' | 'browser';
  /** Contact sheets: PNG of full-size tiles, or JPEG of `tile`-px tiles. */
  sheet: { format: 'png' } | { format: 'jpeg'; quality: number; tile: number };
  /** Measured bytes per pixel, [lecture, clip]: image file, one GIF frame, one stored ZIP frame, one sheet pixel. */
  bpp: { image: [number, number]; gifFrame: [number, number]; zipFrame: [number, number]; sheet: number };
}

/** The WebP thumbnail (128 px, q82): about this many bytes whatever the tier. */
export const THUMB_BYTES = 11_000;
/** A unit's HTML page (measured by bench/media.ts: 14 kB per unit page). */
export const PAGE_BYTES = 14_000;
/** Pages that do not grow with the units: home, CSS, scripts, 404, search. */
export const SITE_BYTES = 2_000_000;
/** Estimates are rounded up by this factor: image content varies from unit to unit. */
export const MARGIN = 1.05;

/** Contact sheets under the JPEG tiers: 96-px tiles (an overview; each tile links to its unit's page and full image). */
const jpegSheet = { format: 'jpeg', quality: 75, tile: 96 } as const;

/** The ladder, richest first. `full` is what every atlas had before the budget: lossless, every frame. */
export const TIERS: readonly MediaTier[] = [
  { name: 'full', image: { format: 'png' }, gif: { encoder: 'full' }, zip: 'stored', sheet: { format: 'png' }, bpp: { image: [2.9, 3.0], gifFrame: [1.4, 1.4], zipFrame: [2.9, 3.0], sheet: 2.9 } },
  {
    name: 'large',
    image: { format: 'png' },
    gif: { encoder: 'compact', frames: 24, size: 1024, colours: 256, interFrameMaxError: 8 },
    zip: 'browser',
    sheet: { format: 'png' },
    bpp: { image: [2.9, 3.0], gifFrame: [1.3, 1.4], zipFrame: [0, 0], sheet: 2.9 },
  },
  {
    name: 'medium',
    image: { format: 'png' },
    gif: { encoder: 'compact', frames: 16, size: 160, colours: 256, interFrameMaxError: 24 },
    zip: 'browser',
    sheet: jpegSheet,
    bpp: { image: [2.9, 3.0], gifFrame: [0.75, 1.3], zipFrame: [0, 0], sheet: 0.7 },
  },
  {
    name: 'small',
    image: { format: 'jpeg', quality: 90 },
    gif: { encoder: 'compact', frames: 12, size: 160, colours: 256, interFrameMaxError: 32 },
    zip: 'browser',
    sheet: jpegSheet,
    bpp: { image: [1.25, 1.55], gifFrame: [0.65, 1.25], zipFrame: [0, 0], sheet: 0.7 },
  },
  {
    name: 'compact',
    image: { format: 'jpeg', quality: 85 },
    gif: { encoder: 'compact', frames: 12, size: 160, colours: 16, interFrameMaxError: 32 },
    zip: 'browser',
    sheet: jpegSheet,
    bpp: { image: [1.0, 1.3], gifFrame: [0.33, 0.56], zipFrame: [0, 0], sheet: 0.7 },
  },
  {
    name: 'minimum',
    image: { format: 'jpeg', quality: 80 },
    gif: { encoder: 'compact', frames: 8, size: 128, colours: 16, interFrameMaxError: 32 },
    zip: 'browser',
    sheet: jpegSheet,
    bpp: { image: [0.9, 1.2], gifFrame: [0.4, 0.65], zipFrame: [0, 0], sheet: 0.7 },
  },
];

export const FULL_TIER: MediaTier = TIERS[0]!;

/** The side lengths of a width×height image reduced to fit `size` (aspect kept, never enlarged). */
export function fitSize(width: number, height: number, size: number): [number, number] {
  const scale = Math.min(1, size / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/** Frames a unit's GIF shows under a tier. */
export function gifFrameCount(tier: MediaTier, frames: number): number {
  return tier.gif.encoder === 'full' ? frames : Math.min(frames, tier.gif.frames);
}

export interface UnitEstimate {
  thumb: number;
  image: number;
  gif: number;
  zip: number;
  sheet: number;
  page: number;
  total: number;
}

/** Estimated published bytes of one unit under a tier (its files, its share of a contact sheet, its page). */
export function estimateUnit(tier: MediaTier, u: UnitShape): UnitEstimate {
  const k = u.deprocess === 'lecture' ? 0 : 1;
  const px = u.width * u.height;
  const [gw, gh] = tier.gif.encoder === 'full' ? [u.width, u.height] : fitSize(u.width, u.height, tier.gif.size);
  const image = px * tier.bpp.image[k];
  const gif = gw * gh * gifFrameCount(tier, u.frames) * tier.bpp.gifFrame[k];
  const zip = tier.zip === 'stored' ? px * u.frames * tier.bpp.zipFrame[k] : 0;
  const tilePx = tier.sheet.format === 'png' ? px : fitSize(u.width, u.height, tier.sheet.tile).reduce((a, b) => a * b, 1);
  const sheet = u.kind === 'filter' ? tilePx * tier.bpp.sheet : 0;
  const parts = { thumb: THUMB_BYTES, image, gif, zip, sheet, page: PAGE_BYTES };
  const total = Object.values(parts).reduce((a, b) => a + b, 0) * MARGIN;
  return { ...parts, total };
}

/** Estimated published bytes of the whole atlas under a tier; `fixed`: bytes published whatever the tier (the live page's model weights). */
export function estimateAtlas(tier: MediaTier, units: UnitShape[], fixed = 0): number {
  return SITE_BYTES + fixed + units.reduce((s, u) => s + estimateUnit(tier, u).total, 0);
}

/** `budget`: the richest tier that fits; `full`: lossless everything, no budget; a tier's name: that tier whatever the budget (benches, previews). */
export type MediaProfile = 'budget' | MediaTier['name'];

export interface MediaPlan {
  profile: MediaProfile;
  /** Bytes the published site may take. */
  budget: number;
  tier: MediaTier;
  /** Estimated bytes of the whole published site under `tier`. */
  estimate: number;
  units: number;
  /** Bytes counted whatever the tier: the live page's model weights (`output/live-graph.ts`), published once per model. */
  fixed: number;
}

/** Why no tier fits: the caller turns it into a config error (exit 2) before any work. */
export class BudgetTooSmall extends Error {
  constructor(
    readonly budget: number,
    readonly minimum: number,
    readonly units: number,
  ) {
    super(
      `${formatBytes(budget)} cannot hold ${units} units: even the smallest media (tier "minimum": JPEG images, 8-frame 128-px GIFs) need about ${formatBytes(minimum)}; ` +
        `raise site.budget to at least ${formatBytes(Math.ceil(minimum))}, render fewer units, or set site.media: full to publish everything without a budget`,
    );
    this.name = 'BudgetTooSmall';
  }
}

/**
 * The richest tier whose estimate fits the budget (profile `budget`), or the tier the profile names
 * whatever its size (`full`: hosting without Pages' limit). Throws BudgetTooSmall when none fits.
 */
export function planMedia(units: UnitShape[], budget: number, profile: MediaProfile = 'budget', fixed = 0): MediaPlan {
  const forced = TIERS.find((t) => t.name === profile);
  if (forced) return { profile, budget, tier: forced, estimate: estimateAtlas(forced, units, fixed), units: units.length, fixed };
  for (const tier of TIERS) {
    const estimate = estimateAtlas(tier, units, fixed);
    if (estimate <= budget) return { profile, budget, tier, estimate, units: units.length, fixed };
  }
  throw new BudgetTooSmall(budget, estimateAtlas(TIERS[TIERS.length - 1]!, units, fixed), units.length);
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** `1GB`, `750 MB`, `1.5gb`, or a number of bytes. Binary units (1 GB = 1024³ bytes). Undefined when unreadable. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*$/i.exec(value);
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!;
  return bytes > 0 ? bytes : undefined;
}

/** Bytes for people: `1.0 GB`, `190 kB`, `12 B` (binary units, as parseBytes reads them). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${Math.round(bytes)} B`;
}
