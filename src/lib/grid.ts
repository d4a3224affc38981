/**
 * The one tile grid, as compact raw HTML, for pages with thousands of tiles (a 2 048-filter layer,
 * 1 000 classes) and for the home page's strips. Per tile: a link, a thumbnail, a caption;
 * page-relative URLs; unquoted attributes where the value is a safe path; `loading="lazy"` after the
 * first rows. The image is decorative (`alt=""`) because the link's text (the caption) names the
 * unit, as WAI's image tutorial advises for an image inside a link with text; the list carries the
 * context (layer or "Classes").
 */
import type { ManifestUnit } from '../../pipeline/output/manifest.ts';
import { DATA_URL_DIR } from '../../pipeline/output/paths.ts';

export interface GridTile {
  /** Base-relative page path of the unit, e.g. "layers/conv1/12/" (from `pages`). */
  page: string;
  /** The unit shown (its thumbnail and tag); undefined when none was rendered. */
  unit?: ManifestUnit;
  caption: string;
  /** A class unit that is not its model's top-1: the label of the class the model sees instead (shown with its tag). */
  seenAs?: string;
  /** Another image than the unit's thumbnail (e.g. its top real patch), relative to the data folder; no tag then. */
  image?: string;
}

/** Tiles that load eagerly: about the first rows of a 1280×800 screen. */
export const EAGER_TILES = 32;
/** Captions longer than this may be cut (with an ellipsis): they carry the full text as a tooltip. */
const CUT_CAPTION = 18;

/** The flags a tile shows, most serious first (pipeline/render/flags.ts says what each means). */
const TAGS = ['dead', 'not-top1', 'stalled', 'not-selective'] as const;
export type UnitTag = 'failed' | (typeof TAGS)[number];

export function unitTag(unit: Pick<ManifestUnit, 'status' | 'flags'> | undefined): UnitTag | undefined {
  if (unit?.status === 'failed') return 'failed';
  return TAGS.find((t) => unit?.flags.includes(t));
}

/** What each flag means for a reader of the page. */
export const FLAG_TEXT: Record<(typeof TAGS)[number], string> = {
  dead: 'dead: objective ≈ 0 from start to end',
  'not-top1': 'not top-1: the model does not classify this image as the class',
  stalled: 'stalled: the image stopped changing for most of the optimization',
  'not-selective': 'not selective: other channels of the layer respond to this image as much or more',
};

/** What the model sees instead in a class unit flagged `not-top1`: its top-1 class, named by `label`. */
export function seenAs(unit: Pick<ManifestUnit, 'flags' | 'quality'> | undefined, label: (id: number) => string): string | undefined {
  const q = unit?.quality;
  if (!unit?.flags.includes('not-top1') || !q || !('top1' in q)) return undefined;
  return label(q.top1);
}

/** From a page path ("layers/x/") back to the base: "../../". */
export function upToBase(pagePath: string): string {
  return '../'.repeat(pagePath.split('/').filter(Boolean).length);
}

/** A base-relative path as seen from the page at `here`: "12/" below it, else through the base. */
export function fromPage(here: string, target: string): string {
  return here && target.startsWith(here) ? target.slice(here.length) || './' : `${upToBase(here)}${target}` || './';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Safe to write unquoted (HTML attribute value without spaces, quotes, =, <, >, `). */
const bare = (s: string) => (/^[A-Za-z0-9_./~%:+-]+$/.test(s) ? s : `"${esc(s)}"`);

/** The tiles of the page at `here` (base-relative path) as `<li>` elements. */
export function gridHtml(here: string, tiles: GridTile[], eager = EAGER_TILES): string {
  return tiles
    .map((t, i) => {
      const file = t.image ?? t.unit?.files?.webp;
      const img = file ? `<img src=${bare(fromPage(here, DATA_URL_DIR + file))} alt=""${i < eager ? '' : ' loading=lazy'}>` : '<i class=noimg></i>';
      const tag = t.image ? undefined : unitTag(t.unit);
      const title = t.caption.length > CUT_CAPTION ? ` title=${bare(t.caption)}` : '';
      const seen = tag === 'not-top1' && t.seenAs ? `: seen as ${esc(t.seenAs)}` : '';
      return `<li><a href=${bare(fromPage(here, t.page))}${title}>${img}${esc(t.caption)}${tag ? ` <b class="tag bad">${tag}${seen}</b>` : ''}</a>`;
    })
    .join('');
}
