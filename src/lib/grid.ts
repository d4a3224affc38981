/**
 * A compact tile grid as raw HTML, for pages with thousands of tiles (a 2 048-filter layer, 1 000
 * classes). Per tile: a link, a thumbnail, a caption; page-relative URLs; unquoted attributes where
 * the value is a safe path; `loading="lazy"` after the first rows. The image is decorative
 * (`alt=""`) because the link's text (the caption) names the unit, as WAI's image tutorial advises
 * for an image inside a link with text; the list carries the context (layer or "Classes").
 */
export interface GridTile {
  /** Page-relative link, e.g. "12/". */
  href: string;
  /** Page-relative thumbnail URL, or undefined when the unit has no image. */
  src?: string;
  caption: string;
  /** A short flag shown after the caption (failed, dead). */
  tag?: string;
}

/** Tiles that load eagerly: about the first rows of a 1280×800 screen. */
export const EAGER_TILES = 32;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Safe to write unquoted (HTML attribute value without spaces, quotes, =, <, >, `). */
const bare = (s: string) => (/^[A-Za-z0-9_./~%:+-]+$/.test(s) ? s : `"${esc(s)}"`);

export function gridHtml(tiles: GridTile[], eager = EAGER_TILES): string {
  return tiles
    .map((t, i) => {
      const img = t.src ? `<img src=${bare(t.src)} alt=""${i < eager ? '' : ' loading=lazy'}>` : '<i class=noimg></i>';
      const tag = t.tag ? ` <b class="tag bad">${esc(t.tag)}</b>` : '';
      return `<li><a href=${bare(t.href)}>${img}${esc(t.caption)}${tag}</a>`;
    })
    .join('');
}

/** From a page path ("layers/x/") back to the base: "../../". */
export function upToBase(pagePath: string): string {
  return '../'.repeat(pagePath.split('/').filter(Boolean).length);
}
