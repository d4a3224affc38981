/**
 * The static search index, `<base>/search.json`: layers with their rendered filter indices, and
 * classes with their labels. Paths are relative to the base, so the index works under any base.
 */
import type { APIRoute } from 'astro';
import { loadAtlas, pages, type Atlas } from '../lib/atlas';

export interface SearchIndex {
  model: string;
  /** n: layer name, p: page path, c: layer class, f: filter indices (each page is `p + f + "/"`). */
  layers: { n: string; p: string; c: string; f: number[] }[];
  /** i: class id, l: label, p: page path; no p: a class the model knows that this atlas did not render. */
  classes: { i: number; l: string; p?: string }[];
}

/** Rendered classes with their pages, then (when the manifest has the model's labels) every other class by name. */
function classEntries(m: Atlas): SearchIndex['classes'] {
  const rendered = new Set(m.classes.map((c) => c.id));
  const others = (m.model.labels ?? []).flatMap((l, i) => (rendered.has(i) ? [] : [{ i, l }]));
  return [...m.classes.map((c) => ({ i: c.id, l: m.classLabel(c.id), p: pages.class(c.id) })), ...others];
}

export const GET: APIRoute = async () => {
  const m = await loadAtlas();
  const index: SearchIndex = {
    model: m.model.id,
    layers: m.layers.map((l) => ({ n: l.name, p: pages.layer(l.name), c: l.className, f: l.filters })),
    classes: classEntries(m),
  };
  return new Response(JSON.stringify(index), { headers: { 'Content-Type': 'application/json' } });
};
