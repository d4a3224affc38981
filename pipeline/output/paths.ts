/**
 * Stable names. A page or image path depends only on (model id, method, layer name, filter index)
 * or (model id, method, class id): never on build order, other layers or content.
 * Shared by the pipeline (where files go) and the site (where links point).
 */
import { fnv1a } from '../hash.ts';

function hash36(text: string): string {
  return fnv1a(text).toString(36);
}

/**
 * A URL- and file-safe slug. Names that are already safe stay as they are; any other name is
 * sanitized and suffixed with a hash of the original, so two different names never share a slug.
 */
export function slug(name: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/.test(name)) return name;
  const clean = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 60);
  return `${clean || 'x'}-${hash36(name)}`;
}

export type UnitKind = 'filter' | 'class';

export interface UnitId {
  kind: UnitKind;
  method: string;
  /** Layer name (filters). */
  layer?: string;
  /** Filter index or class id. */
  index: number;
}

/** The unit's key in the manifest: method/kind/target/index. */
export function unitKey(u: UnitId): string {
  return u.kind === 'filter' ? `${u.method}/filter/${u.layer}/${u.index}` : `${u.method}/class/${u.index}`;
}

/** Folder of a unit's files, relative to the data folder. */
export function unitDir(modelId: string, u: UnitId): string {
  return u.kind === 'filter' ? `${modelId}/${u.method}/layers/${slug(u.layer!)}` : `${modelId}/${u.method}/classes`;
}

/** A unit's files; `png` is the full image, `<index>.jpg` when the media budget makes it a JPEG. */
export function unitFiles(modelId: string, u: UnitId, image: 'png' | 'jpeg' = 'png'): { png: string; webp: string; gif: string; zip: string } {
  const base = `${unitDir(modelId, u)}/${u.index}`;
  return { png: `${base}.${image === 'png' ? 'png' : 'jpg'}`, webp: `${base}.webp`, gif: `${base}.gif`, zip: `${base}.zip` };
}

/** Every file name a unit may have had under any media tier (stale ones are removed when it is written anew). */
export function unitFileVariants(modelId: string, u: UnitId): string[] {
  const base = `${unitDir(modelId, u)}/${u.index}`;
  return ['png', 'jpg', 'webp', 'gif', 'zip'].map((ext) => `${base}.${ext}`);
}

/** A contact sheet: PNG, or JPEG (`sheet-<k>.jpg`) when the media budget makes sheets JPEG. */
export function sheetFile(modelId: string, method: string, layer: string, sheet: number, format: 'png' | 'jpeg' = 'png'): string {
  return `${modelId}/${method}/layers/${slug(layer)}/sheet-${sheet}.${format === 'png' ? 'png' : 'jpg'}`;
}

/** The live page's model files (graph JSON and weight shards), relative to the data folder: once per model. */
export function liveDir(modelId: string): string {
  return `${modelId}/live`;
}

/** Page paths, relative to the site's base (no leading slash, trailing slash). */
export const pages = {
  home: () => '',
  layer: (layer: string) => `layers/${slug(layer)}/`,
  filter: (layer: string, index: number) => `layers/${slug(layer)}/${index}/`,
  classes: () => 'classes/',
  class: (id: number) => `classes/${id}/`,
  search: () => 'search/',
  /** The live page; `query` its settings (src/lib/live/query.ts), e.g. `layer=conv_pw_5_relu&filter=3`. */
  live: (query?: URLSearchParams) => `live/${query && query.size ? `?${query.toString()}` : ''}`,
  /** The static search index (src/pages/search.json.ts). */
  searchIndex: () => 'search.json',
};

/** Where the data folder is served under the site's base. */
export const DATA_URL_DIR = 'data/';
