/**
 * The site's data loader: reads the pipeline's manifest once per build and answers the questions
 * pages ask (units of a layer, neighbours, URLs). URLs come from `pipeline/output/paths.ts` only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, SCHEMA_VERSION, type Manifest, type ManifestLayer, type ManifestUnit } from '../../pipeline/output/manifest.ts';
import { DATA_URL_DIR, pages } from '../../pipeline/output/paths.ts';

export type { Manifest, ManifestLayer, ManifestUnit };
export { pages };

let cached: Manifest | undefined;

/** An empty atlas, for a site built before any pipeline run. */
function emptyManifest(): Manifest {
  return {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: '',
    generator: '',
    site: { title: 'Filter Atlas', url: '', base: '/' },
    model: { id: '', source: '', inputShape: [0, 0, 0], pixels: { range: [-1, 1] }, classCount: 0, score: 'logit', scoreLayer: '', layerNames: [], weightsHash: '' },
    backend: { name: '', skipped: [] },
    methods: [],
    layers: [],
    classes: [],
    units: [],
  };
}

export function atlas(): Manifest {
  if (cached) return cached;
  const dir = process.env.ATLAS_DATA_DIR;
  const file = dir ? path.join(dir, MANIFEST_FILE) : undefined;
  if (!file || !fs.existsSync(file)) {
    console.warn(`[filter-atlas] no manifest at ${file ?? '(ATLAS_DATA_DIR unset)'}: building an empty site; run the pipeline first`);
    return (cached = emptyManifest());
  }
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  if (manifest.schemaVersion !== SCHEMA_VERSION) throw new Error(`${file}: schemaVersion ${manifest.schemaVersion}; this site reads ${SCHEMA_VERSION}. Rerun the pipeline.`);
  return (cached = manifest);
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

let byTarget: Map<string, ManifestUnit[]> | undefined;
/** Units grouped by layer (`f:<layer>`) and class (`c:<id>`), built once. */
function groups(): Map<string, ManifestUnit[]> {
  if (byTarget) return byTarget;
  byTarget = new Map();
  for (const u of atlas().units) {
    const key = u.kind === 'filter' ? `f:${u.layer}` : `c:${u.index}`;
    const list = byTarget.get(key) ?? [];
    list.push(u);
    byTarget.set(key, list);
  }
  return byTarget;
}

export function unitsOfLayer(layer: string): ManifestUnit[] {
  return groups().get(`f:${layer}`) ?? [];
}

export function unitsOfFilter(layer: string, index: number): ManifestUnit[] {
  return unitsOfLayer(layer).filter((u) => u.index === index);
}

export function unitsOfClass(id: number): ManifestUnit[] {
  return groups().get(`c:${id}`) ?? [];
}

/** Absolute URL (site origin + base) of a data file, for snippets and social cards. */
export function absoluteDataUrl(file: string, site: URL | undefined): string {
  return absoluteUrl(dataHref(file), site);
}

export function methodName(id: string): string {
  return atlas().methods.find((m) => m.id === id)?.name ?? id;
}

/** The unit of `method` (or any method) for a layer filter: what a grid tile shows. */
export function filterUnit(layer: string, index: number, method?: string): ManifestUnit | undefined {
  const all = unitsOfFilter(layer, index);
  return all.find((u) => u.method === method) ?? all[0];
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
