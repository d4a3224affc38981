/**
 * The static search index, `<base>/search.json`: layers with their rendered filter indices, and
 * classes with their labels. Paths are relative to the base, so the index works under any base.
 */
import type { APIRoute } from 'astro';
import { loadAtlas, pages, type Atlas, type ManifestLayer, type ManifestUnit } from '../lib/atlas';
import { DATA_URL_DIR, unitDir } from '../../pipeline/output/paths.ts';
import type { SearchIndex } from '../lib/search';

/** Where the first method's thumbnails are (as the grids show them), and which of `indices` have one. */
function thumbs(m: Atlas, unit: { kind: 'filter'; layer: string } | { kind: 'class' }, units: ManifestUnit[]) {
  const method = m.methods[0]?.id;
  if (!method) return undefined;
  const folder = `${DATA_URL_DIR}${unitDir(m.model.id, { ...unit, method, index: 0 })}/`;
  return { folder, has: new Set(units.filter((u) => u.method === method && u.files).map((u) => u.index)) };
}

/** A layer's thumbnails: their folder and the filters without one. */
function layerThumbs(m: Atlas, l: ManifestLayer): { t?: string; x?: number[] } {
  const th = thumbs(m, { kind: 'filter', layer: l.name }, m.unitsOfLayer(l.name));
  if (!th) return {};
  const x = l.filters.filter((f) => !th.has.has(f));
  return { t: th.folder, ...(x.length ? { x } : {}) };
}

/** Rendered classes with their pages (t: has a thumbnail in `ct`), then (when the manifest has the model's labels) every other class by name. */
function classEntries(m: Atlas): Pick<SearchIndex, 'classes' | 'ct'> {
  const th = thumbs(
    m,
    { kind: 'class' },
    m.classes.flatMap((c) => m.unitsOfClass(c.id)),
  );
  const rendered = new Set(m.classes.map((c) => c.id));
  const others = (m.model.labels ?? []).flatMap((l, i) => (rendered.has(i) ? [] : [{ i, l }]));
  const classes = [...m.classes.map((c) => ({ i: c.id, l: m.classLabel(c.id), p: pages.class(c.id), ...(th?.has.has(c.id) ? { t: 1 as const } : {}) })), ...others];
  return { classes, ...(th ? { ct: th.folder } : {}) };
}

export const GET: APIRoute = async () => {
  const m = await loadAtlas();
  const index: SearchIndex = {
    model: m.model.id,
    layers: m.layers.map((l) => ({ n: l.name, p: pages.layer(l.name), c: l.className, f: l.filters, ...layerThumbs(m, l) })),
    ...classEntries(m),
    ...(m.live && 'graph' in m.live ? { lv: pages.live() } : {}),
  };
  return new Response(JSON.stringify(index), { headers: { 'Content-Type': 'application/json' } });
};
