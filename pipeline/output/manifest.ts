/**
 * The manifest: the one contract between the pipeline and the site. The pipeline writes
 * `<output>/manifest.json`; the site reads only it and the files it names. Paths in it are relative
 * to the output folder. Documented field by field in ARCHITECTURE.md; bump `schemaVersion` on any
 * change that an older site could misread.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FilterObjectiveKind } from '../config/schema.ts';
import type { UnitKind } from './paths.ts';

export const SCHEMA_VERSION = 1;

export interface ManifestMethod {
  id: string;
  name: string;
  description: string;
}

export interface ManifestLayer {
  name: string;
  slug: string;
  className: string;
  /** Output shape without the batch dimension, e.g. [56, 56, 96]. */
  outputShape: number[];
  /** Channels of the layer. */
  filterCount: number;
  /** Filter indices rendered, ascending. */
  filters: number[];
  /** Contact sheets per method: 8×8 tiles each, in the order of `filters`. */
  sheets: Record<string, { file: string; filters: number[] }[]>;
}

export interface ManifestClass {
  id: number;
  label: string;
}

export interface UnitSettings {
  steps: number;
  stepSize: number;
  l2: number;
  size: [number, number];
  border: number;
  crop: number;
  deprocess: 'lecture' | 'clip';
  /** Filters: gradient redirected at a dead target channel. */
  redirect?: boolean;
  /** Filters: what the objective maximizes; absent means 'channel' (so earlier atlases keep their cache keys). */
  filterObjective?: FilterObjectiveKind;
  frameEvery: number;
  photo: string | null;
  /** What a class objective maximized. */
  score?: 'logit' | 'logprob' | 'probability';
}

export interface ManifestUnit {
  /** `method/filter/<layer>/<index>` or `method/class/<id>`. */
  key: string;
  kind: UnitKind;
  method: string;
  /** Layer name (filters) or the layer whose output is the class score (classes). */
  layer: string;
  /** Filter index or class id. */
  index: number;
  /** Class name (classes) or "<layer> #<index>" (filters). */
  label: string;
  status: 'ok' | 'failed';
  /** Why it failed. */
  error?: string;
  /** Flags such as "dead" (objective ~0 from start to end). */
  flags: string[];
  /** Files, relative to the output folder. Absent when the unit failed before writing them. */
  files?: { png: string; webp: string; gif: string; /** The GIF's frames as numbered PNGs (older atlases lack it; the site then makes it). */ zip?: string };
  width: number;
  height: number;
  frames: number;
  /** Objective at every step, index 0 = start image. */
  curve: number[];
  startObjective: number;
  finalObjective: number;
  seed: number;
  settings: UnitSettings;
  backend: string;
  /** Wall-clock seconds of the batch divided by its size. */
  seconds: number;
  /** Hash of everything that determines the pixels (model weights, unit, settings, seed, backend). */
  cacheKey: string;
  /** Free-form quality numbers (e.g. top-k of class images). */
  quality?: Record<string, unknown>;
}

export interface Manifest {
  schemaVersion: number;
  generatedAt: string;
  generator: string;
  site: { title: string; url: string; base: string };
  model: {
    id: string;
    /** Where it was loaded from (path or URL as configured). */
    source: string;
    inputShape: [number, number, number];
    pixels: { range: [number, number]; mean?: number[]; std?: number[] };
    classCount: number;
    /** What class objectives maximize and from which layer. */
    score: 'logit' | 'logprob' | 'probability';
    scoreLayer: string;
    layerNames: string[];
    weightsHash: string;
  };
  backend: { name: string; skipped: { name: string; reason: string }[] };
  methods: ManifestMethod[];
  layers: ManifestLayer[];
  classes: ManifestClass[];
  units: ManifestUnit[];
}

export const MANIFEST_FILE = 'manifest.json';

export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as Manifest;
  if (manifest.schemaVersion !== SCHEMA_VERSION) {
    throw new Error(`${file}: manifest schemaVersion ${manifest.schemaVersion}, this build reads ${SCHEMA_VERSION}; rerun the pipeline`);
  }
  return manifest;
}

export async function readManifestIfAny(dir: string): Promise<Manifest | undefined> {
  try {
    return await readManifest(dir);
  } catch {
    return undefined;
  }
}
