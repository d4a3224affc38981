/**
 * The search of the search page, over the static index `search.json` (src/pages/search.json.ts):
 * pure, so the page's script and the tests share it. Words match class labels and layer names;
 * numbers match class ids and filter indices ("conv_pw_5 12").
 */

export interface SearchIndex {
  model: string;
  /**
   * n: layer name, p: page path, c: layer class, f: filter indices (each page is `p + f + "/"`);
   * t: thumbnail folder (filter f's thumbnail is `t + f + ".webp"`), x: filters without one.
   */
  layers: { n: string; p: string; c: string; f: number[]; t?: string; x?: number[] }[];
  /** i: class id, l: label, p: page path, t: has a thumbnail (`ct + i + ".webp"`); no p: a class the model knows that this atlas did not render. */
  classes: { i: number; l: string; p?: string; t?: 1 }[];
  /** The folder of the class thumbnails. */
  ct?: string;
  /** The live page's path when the atlas offers live rendering: an unrendered class links to it (`lv + "?class=" + i`). */
  lv?: string;
}

/** A result: r (rank, lower first), its text and kind, page path (none: no page) and thumbnail, relative to the base. */
export interface Hit {
  r: number;
  text: string;
  kind: string;
  p?: string;
  t?: string;
}

/** Unrendered classes (the model's other labels) rank after every rendered match. */
const UNRENDERED = 10;

/** 0 exact, 1 prefix, 2 start of a word, 3 inside; -1 no match. */
export function rank(text: string, word: string): number {
  const t = text.toLowerCase();
  const at = t.indexOf(word);
  if (at < 0) return -1;
  if (t === word) return 0;
  if (at === 0) return 1;
  return /[^a-z0-9]/.test(t[at - 1]!) ? 2 : 3;
}

/** The worst rank of all words in `text`; -1 when one is missing. */
function match(text: string, words: string[]): number {
  let worst = 0;
  for (const w of words) {
    const r = rank(text, w);
    if (r < 0) return -1;
    worst = Math.max(worst, r);
  }
  return worst;
}

function classHits(idx: SearchIndex, words: string[], nums: number[]): Hit[] {
  const out: Hit[] = [];
  for (const c of idx.classes) {
    const after = c.p ? 0 : UNRENDERED;
    const live = !c.p && idx.lv !== undefined;
    const hit = {
      text: `${c.i} ${c.l}`,
      kind: c.p ? 'class' : live ? 'class, not rendered in this atlas: render it live' : 'class, not rendered in this atlas',
      p: c.p ?? (live ? `${idx.lv}?class=${c.i}` : undefined),
      t: c.t && idx.ct ? `${idx.ct}${c.i}.webp` : undefined,
    };
    const r = words.length ? match(c.l, words) : -1;
    if (r >= 0 && (nums.length === 0 || nums.includes(c.i))) out.push({ r: r + after, ...hit });
    else if (!words.length && nums.includes(c.i)) out.push({ r: after, ...hit });
  }
  return out;
}

function layerHits(idx: SearchIndex, words: string[], nums: number[]): Hit[] {
  const out: Hit[] = [];
  for (const l of idx.layers) {
    const thumb = (f: number | undefined) => (l.t && f !== undefined && !(l.x ?? []).includes(f) ? `${l.t}${f}.webp` : undefined);
    const r = words.length ? match(l.n, words) : 1;
    if (r < 0) continue;
    if (!nums.length) out.push({ r, text: l.n, kind: `layer, ${l.f.length} filters`, p: l.p, t: thumb(l.f[0]) });
    for (const n of nums) if (l.f.includes(n)) out.push({ r: words.length ? r : 1, text: `${l.n} filter ${n}`, kind: 'filter', p: `${l.p}${n}/`, t: thumb(n) });
  }
  return out;
}

/** Every hit of a query, best first (then in natural order of their text). */
export function search(idx: SearchIndex, q: string): Hit[] {
  const tokens = q
    .toLowerCase()
    .split(/[\s#,/:]+/)
    .filter(Boolean);
  const nums = tokens.filter((t) => /^\d+$/.test(t)).map(Number);
  const words = tokens.filter((t) => !/^\d+$/.test(t));
  return [...classHits(idx, words, nums), ...layerHits(idx, words, nums)].sort((a, b) => a.r - b.r || a.text.localeCompare(b.text, undefined, { numeric: true }));
}
