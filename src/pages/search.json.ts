/**
 * The static search index, `<base>/search.json`: layers with their rendered filter indices, and
 * classes with their labels. Paths are relative to the base, so the index works under any base.
 */
import type { APIRoute } from 'astro';
import { loadAtlas, pages, type Atlas, type ManifestLayer } from '../lib/atlas';
import { DATA_URL_DIR, unitDir } from '../../pipeline/output/paths.ts';
import type { SearchIndex } from '../lib/search';

/** Thumbnails of a layer's filters (first method, as the grids): a folder and the filters without one. */
function layerThumbs(m: Atlas, l: ManifestLayer): { t?: string; x?: number[] } {
  const method = m.methods[0]?.id;
  if (!method) return {};
  const withImage = new Set(m.unitsOfLayer(l.name).filter((u) => u.method === method && u.files).map((u) => u.index));
  const x = l.filters.filter((f) => !withImage.has(f));
  return { t: `${DATA_URL_DIR}${unitDir(m.model.id, { kind: 'filter', method, layer: l.name, index: 0 })}/`, ...(x.length ? { x } : {}) };
}

/** Rendered classes with their pages, then (when the manifest has the model's labels) every other class by name. */
function classEntries(m: Atlas): SearchIndex['classes'] {
  const rendered = new Set(m.classes.map((c) => c.id));
  const others = (m.model.labels ?? []).flatMap((l, i) => (rendered.has(i) ? [] : [{ i, l }]));
  const thumb = (id: number) => m.unitsOfClass(id).find((u) => u.files)?.files?.webp;
  return [
    ...m.classes.map((c) => {
      const t = thumb(c.id);
      return { i: c.id, l: m.classLabel(c.id), p: pages.class(c.id), ...(t ? { t: `${DATA_URL_DIR}${t}` } : {}) };
    }),
    ...others,
  ];
}

export const GET: APIRoute = async () => {
  const m = await loadAtlas();
  const index: SearchIndex = {
    model: m.model.id,
    layers: m.layers.map((l) => ({ n: l.name, p: pages.layer(l.name), c: l.className, f: l.filters, ...layerThumbs(m, l) })),
    classes: classEntries(m),
  };
  return new Response(JSON.stringify(index), { headers: { 'Content-Type': 'application/json' } });
};
