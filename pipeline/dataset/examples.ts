/**
 * Rankings → what the manifest says per unit: the examples (thumbnail, value, source, attribution,
 * patch with its box) and the dataset quality numbers, plus the list of files to publish. The
 * AtlasWriter applies the result to every unit entry (`applyDataset`), reused ones included, so a
 * manifest never keeps examples of an earlier run.
 */
import type { DatasetExample, DatasetQualityEntry, DatasetSummary, ManifestUnit } from '../output/manifest.ts';
import type { Attribution } from './attribution.ts';
import { patchThumbFile, photoThumbFile } from './files.ts';
import type { PhotoJob } from './publish.ts';
import type { ClassHit, FilterHit, PhotoRef, Rankings } from './rank.ts';
import { fieldBox, type Field } from './receptive-field.ts';
import type { PhotoFile } from './photos.ts';

/** One filter's or class's dataset results. */
export interface TargetExamples {
  /** Absent with `publish: false`. */
  examples?: DatasetExample[];
  /** Filters: the best mean over all photos, [output, pre-activation]. */
  best?: [number, number];
  /** Classes: share of the top-K photos the model classifies as the class. */
  top1Share?: number;
}

export interface DatasetResult {
  summary: DatasetSummary;
  filters: Map<string, Map<number, TargetExamples>>;
  classes: Map<number, TargetExamples>;
}

/** Where the published files go and how patches are cut. */
export interface ExampleContext {
  /** `datasetDir(model id, model key)`. */
  dir: string;
  size: [number, number];
  publish: boolean;
  patches: boolean;
  /** Per layer: its receptive field (undefined: no patches) and its map size [h, w]. */
  geometry: Map<string, { field?: Field; map: [number, number] }>;
  attributions: Map<string, Attribution>;
  photos: Map<string, PhotoFile>;
}

const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);

/** Collects the files each photo must publish (one decode per photo). */
class Jobs {
  readonly byHash = new Map<string, PhotoJob>();
  constructor(private readonly c: ExampleContext) {}

  photo(ref: PhotoRef): PhotoJob {
    let job = this.byHash.get(ref.hash);
    if (!job) this.byHash.set(ref.hash, (job = { photo: this.c.photos.get(ref.source)!, thumb: photoThumbFile(this.c.dir, ref.hash), patches: [] }));
    return job;
  }
}

function exampleOf(c: ExampleContext, jobs: Jobs, hit: PhotoRef & { value: number }): DatasetExample {
  const a = c.attributions.get(hit.source);
  return {
    file: jobs.photo(hit).thumb,
    value: round(hit.value),
    source: hit.source,
    ...(a?.text ? { attribution: a.text } : {}),
    ...(a?.license ? { license: a.license } : {}),
  };
}

function filterExample(c: ExampleContext, jobs: Jobs, layer: string, hit: FilterHit): DatasetExample {
  const example = exampleOf(c, jobs, hit);
  const g = c.geometry.get(layer)!;
  if (!c.patches || !g.field) return example;
  const box = fieldBox(g.field, Math.floor(hit.position / g.map[1]), hit.position % g.map[1], c.size);
  const file = patchThumbFile(c.dir, hit.hash, box);
  const job = jobs.photo(hit);
  if (!job.patches.some((p) => p.file === file)) job.patches.push({ file, box });
  return { ...example, patch: { file, value: round(hit.max), box: [box.x, box.y, box.width, box.height] } };
}

function classExample(c: ExampleContext, jobs: Jobs, hit: ClassHit): DatasetExample {
  return { ...exampleOf(c, jobs, hit), top1: hit.top1 };
}

/** Per unit results and the publishing jobs of a finished ranking. */
export function collectExamples(r: Rankings, c: ExampleContext, summary: DatasetSummary): { result: DatasetResult; jobs: PhotoJob[] } {
  const jobs = new Jobs(c);
  const filters = new Map<string, Map<number, TargetExamples>>();
  for (const [layer, tops] of r.filters) {
    const best = r.best.get(layer)!;
    const perFilter = new Map<number, TargetExamples>();
    for (const [f, top] of tops) {
      const examples = c.publish ? top.sorted().map((e) => filterExample(c, jobs, layer, e.item)) : undefined;
      perFilter.set(f, { ...(examples ? { examples } : {}), ...(r.photos ? { best: best.get(f)! } : {}) });
    }
    filters.set(layer, perFilter);
  }
  const classes = new Map<number, TargetExamples>();
  for (const [id, top] of r.classes) {
    const hits = top.sorted().map((e) => e.item);
    const share = hits.length ? hits.filter((h) => h.top1 === id).length / hits.length : undefined;
    const examples = c.publish ? hits.map((h) => classExample(c, jobs, h)) : undefined;
    classes.set(id, { ...(examples ? { examples } : {}), ...(share !== undefined ? { top1Share: share } : {}) });
  }
  return { result: { summary, filters, classes }, jobs: [...jobs.byHash.values()] };
}

/** A filter unit's optimized-image value over its best photo, in the read its objective used (channel objective only). */
function filterQuality(unit: ManifestUnit, best: [number, number] | undefined, photos: number): DatasetQualityEntry {
  if (!best) return { photos };
  const s = unit.settings;
  const value = s.preActivation ? best[1] : best[0];
  const comparable = (s.filterObjective ?? 'channel') === 'channel' && value > 0 && Number.isFinite(unit.finalObjective);
  return { photos, best: round(value), ...(comparable ? { ratio: round(unit.finalObjective / value) } : {}) };
}

/**
 * A unit entry with this run's dataset results (and without any earlier run's). Before the dataset
 * phase has run (`d` undefined), a unit keeps its previous examples while the config still has a
 * dataset (so a reader, or an interrupted run, never sees them vanish), and loses them otherwise.
 */
export function applyDataset(unit: ManifestUnit, d: DatasetResult | undefined, configured: boolean): ManifestUnit {
  const { examples: _e, datasetQuality: _q, ...rest } = unit;
  if (!d) return configured ? unit : rest;
  const t = unit.kind === 'filter' ? d.filters.get(unit.layer)?.get(unit.index) : d.classes.get(unit.index);
  if (!t) return rest;
  const photos = d.summary.photos;
  const quality = unit.kind === 'filter' ? filterQuality(unit, t.best, photos) : { photos, ...(t.top1Share !== undefined ? { top1Share: t.top1Share } : {}) };
  return { ...rest, ...(t.examples ? { examples: t.examples } : {}), datasetQuality: quality };
}
