/**
 * The site's view of the atlas: the content collections (src/content.config.ts, filled from the
 * manifest by the shared reader) as typed lists, plus the questions pages ask (units of a layer,
 * class names, URLs). URLs come from `pipeline/output/paths.ts` only.
 */
import { getCollection } from 'astro:content';
import type { Manifest, ManifestClass, ManifestLayer, ManifestMethod, ManifestUnit } from '../../pipeline/output/manifest.ts';
import { DATA_URL_DIR, pages } from '../../pipeline/output/paths.ts';
import { emptyManifest } from './atlas-loader.ts';

export type { ManifestClass, ManifestLayer, ManifestUnit };
export { pages };

/** The manifest's fields other than its lists. */
export type AtlasMeta = Omit<Manifest, 'layers' | 'classes' | 'units'>;

export interface Atlas extends AtlasMeta {
  layers: ManifestLayer[];
  classes: ManifestClass[];
  units: ManifestUnit[];
  unitsOfLayer(layer: string): ManifestUnit[];
  unitsOfFilter(layer: string, index: number): ManifestUnit[];
  unitsOfClass(id: number): ManifestUnit[];
  /** The unit of `method` (or of the first method) for a filter: what a grid tile shows. */
  filterUnit(layer: string, index: number, method?: string): ManifestUnit | undefined;
  method(id: string): ManifestMethod | undefined;
  methodName(id: string): string;
  /** A class's name: the model's labels when the manifest has them, else the rendered classes'. */
  classLabel(id: number): string;
}

interface Entry<T> {
  data: T;
}

function group(units: ManifestUnit[]): Map<string, ManifestUnit[]> {
  const byTarget = new Map<string, ManifestUnit[]>();
  for (const u of units) {
    const key = u.kind === 'filter' ? `f:${u.layer}` : `c:${u.index}`;
    const list = byTarget.get(key) ?? [];
    list.push(u);
    byTarget.set(key, list);
  }
  return byTarget;
}

async function build(): Promise<Atlas> {
  const [meta] = ((await getCollection('atlas')) as Entry<AtlasMeta>[]).map((e) => e.data);
  const layers = ((await getCollection('layers')) as Entry<ManifestLayer>[]).map((e) => e.data);
  const classes = ((await getCollection('classes')) as Entry<ManifestClass>[]).map((e) => e.data);
  const units = ((await getCollection('units')) as Entry<ManifestUnit>[]).map((e) => e.data);
  const m: AtlasMeta = meta ?? emptyManifest();
  const byTarget = group(units);
  const unitsOfLayer = (layer: string) => byTarget.get(`f:${layer}`) ?? [];
  const unitsOfFilter = (layer: string, index: number) => unitsOfLayer(layer).filter((u) => u.index === index);
  const labels = new Map(classes.map((c) => [c.id, c.label]));
  const method = (id: string) => m.methods.find((x) => x.id === id);
  return {
    ...m,
    layers,
    classes,
    units,
    unitsOfLayer,
    unitsOfFilter,
    unitsOfClass: (id) => byTarget.get(`c:${id}`) ?? [],
    filterUnit: (layer, index, meth) => {
      const all = unitsOfFilter(layer, index);
      return all.find((u) => u.method === meth) ?? all[0];
    },
    method,
    methodName: (id) => method(id)?.name ?? id,
    classLabel: (id) => m.model.labels?.[id] ?? labels.get(id) ?? `class ${id}`,
  };
}

let loaded: Promise<Atlas> | undefined;

/** The atlas, built once per build (again on every request in `astro dev`, where the manifest may change). */
export function loadAtlas(): Promise<Atlas> {
  if (import.meta.env.DEV) return build();
  return (loaded ??= build());
}

/** Absolute path (with base) of a page, from its base-relative path. */
export function href(relative: string): string {
  const base = import.meta.env.BASE_URL.endsWith('/') ? import.meta.env.BASE_URL : `${import.meta.env.BASE_URL}/`;
  return `${base}${relative}`;
}

/** Path (with base) of a data file named in the manifest. */
export function dataHref(file: string): string {
  return href(`${DATA_URL_DIR}${file}`);
}

/** Absolute URL (with site origin) for links pasted elsewhere. */
export function absoluteUrl(pathWithBase: string, site: URL | undefined): string {
  return site ? new URL(pathWithBase, site).toString() : pathWithBase;
}

/** Absolute URL (site origin + base) of a data file, for snippets and social cards. */
export function absoluteDataUrl(file: string, site: URL | undefined): string {
  return absoluteUrl(dataHref(file), site);
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
