/**
 * The AtlasWriter owns what a run writes: each unit's files (encoded with bounded concurrency),
 * its manifest entry, the contact-sheet list, the counts, and the manifest itself, rewritten
 * atomically after every unit (only when its content changed), always after the files it names.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { SelectedBackend } from '../engine/backend.ts';
import type { PlannedUnit } from '../plan.ts';
import { applyDataset, type DatasetResult } from '../dataset/examples.ts';
import type { Progress } from '../progress.ts';
import type { UnitResult } from '../render/method.ts';
import { METHODS } from '../render/methods/index.ts';
import { unitFlags } from '../render/flags.ts';
import type { UnitQuality } from '../render/quality.ts';
import type { AtlasContext } from '../run/prepare.ts';
import type { TodoUnit } from '../run/reuse.ts';
import { writeFileAtomic } from './atomic.ts';
import { encodeUnit, type EncodedUnit } from './encode-unit.ts';
import { MANIFEST_FILE, SCHEMA_VERSION, type LiveFiles, type Manifest, type ManifestLayer, type ManifestUnit } from './manifest.ts';
import { liveSchema } from './manifest-schema.ts';
import { slug, unitFileVariants, unitFiles, unitKey } from './paths.ts';
import { readFramesZip } from './frames-zip.ts';
import type { PlannedSheet } from './sheets.ts';

const GENERATOR = 'filter-atlas 0.1.0';

/** The manifest as compared between writes: everything but its time stamp. */
function manifestBody(m: Manifest): string {
  return JSON.stringify({ ...m, generatedAt: undefined });
}

interface WriterOptions {
  ctx: AtlasContext;
  backend: SelectedBackend;
  outDir: string;
  planned: PlannedUnit[];
  /** Entries kept from the previous manifest, by unit key. */
  units: Map<string, ManifestUnit>;
  sheetPlan: PlannedSheet[];
  /** Sheet files that exist and show the filters listed. */
  sheets: Set<string>;
  previous: Manifest | undefined;
  progress: Progress;
}

export class AtlasWriter {
  computed = 0;
  failed = 0;
  dead = 0;
  readonly manifestFile: string;
  private lastBody: string;
  private readonly writeLimit = pLimit(1);
  private readonly encodeLimit = pLimit(2);
  /** The dataset phase's results, applied to every unit entry (examples are never carried over from a previous run). */
  private dataset: DatasetResult | undefined;
  private live: LiveFiles | undefined;

  constructor(private readonly o: WriterOptions) {
    this.manifestFile = path.join(o.outDir, MANIFEST_FILE);
    this.lastBody = o.previous ? manifestBody(o.previous) : '';
  }

  get sheets(): Set<string> {
    return this.o.sheets;
  }

  /** Sets the dataset examples and numbers the manifest gives each unit (call writeManifest after). */
  setDataset(result: DatasetResult): void {
    this.dataset = result;
  }

  /** Sets the live page's model files the manifest names (call writeManifest after). */
  setLive(live: LiveFiles): void {
    // As the manifest reads back (the schema's key order), so an unchanged record rewrites nothing.
    this.live = liveSchema.parse(live);
  }

  /** This run's live files; until they are written, the previous run's when made from the same weights. */
  private liveSummary(): Pick<Manifest, 'live'> {
    const previous = this.o.previous?.live;
    const live = this.live ?? (previous && 'graph' in previous && previous.weightsHash === this.o.ctx.weightsHash ? previous : undefined);
    return live ? { live } : {};
  }

  /** This run's dataset summary; until the dataset phase ends, the previous one (when the config still has a dataset). */
  private datasetSummary(): Pick<Manifest, 'dataset'> {
    const summary = this.dataset?.summary ?? (this.o.ctx.loaded.config.dataset ? this.o.previous?.dataset : undefined);
    return summary ? { dataset: summary } : {};
  }

  /** Writes the manifest when its content (apart from generatedAt) changed. Serialized. */
  writeManifest(): Promise<void> {
    return this.writeLimit(async () => {
      const manifest = this.manifest();
      const body = manifestBody(manifest);
      if (body === this.lastBody) return;
      await writeFileAtomic(this.manifestFile, JSON.stringify(manifest, null, 1));
      this.lastBody = body;
    });
  }

  /** Stops listing units (before their files are replaced), then writes the manifest. */
  async unlist(group: PlannedUnit[]): Promise<void> {
    if (!group.some((u) => this.o.units.has(unitKey(u)))) return;
    for (const u of group) this.o.units.delete(unitKey(u));
    await this.writeManifest();
  }

  /**
   * Encodes (unless `encoded`, by a worker) and writes a rendered unit's files, then lists it.
   * Resolves when both are on disk.
   */
  writeUnit(u: TodoUnit, result: UnitResult, seconds: number, quality: UnitQuality | undefined, encoded?: EncodedUnit): Promise<void> {
    const entry = unitEntry(u, result, this.o.backend.name, seconds, quality);
    return this.encodeLimit(async () => {
      if (!result.error) await this.writeFiles(u, result, entry, encoded);
      if (entry.status === 'failed') {
        this.failed++;
        this.o.progress.log(`unit ${entry.key} failed: ${entry.error}`);
      } else {
        this.computed++;
        if (entry.flags.includes('dead')) this.dead++;
      }
      // Files first, then the manifest that names them, then files of another media tier that nothing names now.
      this.o.units.set(entry.key, entry);
      await this.writeManifest();
      if (entry.files) await this.removeStale(unitFileVariants(this.o.ctx.loaded.config.model.id, u), entry);
    });
  }

  /**
   * Re-encodes a listed unit under this run's media tier from the lossless frames on disk (its
   * stored frames ZIP): a changed budget re-encodes, it does not re-render. Then lists it anew.
   */
  reencode(old: ManifestUnit): Promise<void> {
    return this.encodeLimit(async () => {
      const { ctx, outDir } = this.o;
      const entry: ManifestUnit = { ...old };
      const stale = Object.values(old.files ?? {}).filter((f): f is string => !!f);
      try {
        const bytes = await encodeUnit(await readFramesZip(outDir, old), ctx.loaded.config.render.gifFrameMs, ctx.media.tier);
        await this.writeEncoded(old, entry, bytes);
      } catch (err) {
        this.o.progress.log(`unit ${old.key}: re-encoding its media failed (${(err as Error).message}); kept as it was`);
        return;
      }
      this.o.units.set(entry.key, entry);
      await this.writeManifest();
      await this.removeStale(stale, entry);
    });
  }

  /** Writes a unit's encoded files and points its entry at them. */
  private async writeEncoded(u: PlannedUnit | ManifestUnit, entry: ManifestUnit, bytes: EncodedUnit): Promise<void> {
    const { outDir, ctx } = this.o;
    const id = { kind: u.kind, method: u.method, layer: u.layer, index: u.index };
    const all = unitFiles(ctx.loaded.config.model.id, id, bytes.media.image);
    const files = { png: all.png, webp: all.webp, gif: all.gif, ...(bytes.zip ? { zip: all.zip } : {}) };
    const contents: [string, Uint8Array][] = [[files.png, bytes.image], [files.webp, bytes.webp], [files.gif, bytes.gif], ...(bytes.zip ? [[all.zip, bytes.zip] as [string, Uint8Array]] : [])];
    await Promise.all(contents.map(([f, b]) => writeFileAtomic(path.join(outDir, f), b)));
    entry.files = files;
    entry.media = bytes.media;
  }

  /** Removes files of a unit that its entry no longer names (another media tier's), after the manifest stopped naming them. */
  private async removeStale(candidates: string[], entry: ManifestUnit): Promise<void> {
    const named = new Set(Object.values(entry.files ?? {}));
    await Promise.all(candidates.filter((f) => !named.has(f)).map((f) => fs.rm(path.join(this.o.outDir, f), { force: true })));
  }

  private async writeFiles(u: TodoUnit, r: UnitResult, entry: ManifestUnit, encoded: EncodedUnit | undefined): Promise<void> {
    const { ctx } = this.o;
    try {
      const bytes = encoded ?? (await encodeUnit(r, ctx.loaded.config.render.gifFrameMs, ctx.media.tier));
      await this.writeEncoded(u, entry, bytes);
    } catch (err) {
      entry.status = 'failed';
      entry.error = `encoding or writing its images failed: ${(err as Error).message}`;
      entry.flags = [];
    }
  }

  /** The manifest of what exists now: planned order, only units finished now or earlier. */
  manifest(): Manifest {
    const { ctx, backend } = this.o;
    const { config } = ctx.loaded;
    const sheetsOf = (layer: string): ManifestLayer['sheets'] =>
      Object.fromEntries(
        config.render.methods.map((m) => [m, this.o.sheetPlan.filter((p) => p.method === m && p.layer.name === layer && this.o.sheets.has(p.file)).map((p) => ({ file: p.file, filters: p.filters }))]),
      );
    return {
      schemaVersion: SCHEMA_VERSION,
      generatedAt: new Date().toISOString(),
      generator: GENERATOR,
      site: { title: config.site.title, url: config.site.url, base: config.site.base },
      model: {
        id: config.model.id,
        source: ctx.modelOrigin,
        inputShape: ctx.graph.inputShape,
        pixels: ctx.pixels,
        classCount: ctx.labels.length,
        score: config.model.score,
        scoreLayer: ctx.scoreLayer,
        layerNames: ctx.graph.nodes.filter((n) => n.outputShape.length === 3).map((n) => n.name),
        weightsHash: ctx.weightsHash,
        // Every class the model knows (names in the top-5 and search), and the whole model in graph order (the model map).
        labels: ctx.labels,
        layers: ctx.graph.lowered.map((n) => ({ name: n.name, className: n.className, outputShape: n.outputShape, inputs: n.inputs })),
      },
      backend: { name: backend.name, skipped: backend.skipped },
      methods: config.render.methods.map((id) => ({ id, name: METHODS[id]!.name, description: METHODS[id]!.description })),
      layers: ctx.layers.map((l) => ({ name: l.name, slug: slug(l.name), className: l.className, outputShape: l.outputShape, filterCount: l.filterCount, filters: l.filters, sheets: sheetsOf(l.name) })),
      classes: ctx.classes,
      // In the schema's order (as the manifest reads back), so that an unchanged manifest compares equal.
      ...this.datasetSummary(),
      ...this.liveSummary(),
      units: this.o.planned
        .map((u) => this.o.units.get(unitKey(u)))
        .filter((u): u is ManifestUnit => u !== undefined)
        .map((u) => applyDataset(u, this.dataset, !!config.dataset)),
    };
  }
}

export { encodeUnit, type EncodedUnit };

function unitEntry(u: TodoUnit, r: UnitResult, backend: string, seconds: number, quality?: UnitQuality): ManifestUnit {
  // Six significant digits: the curve is for plotting and comparing, not for bit-exact replay.
  const curve = r.curve.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v));
  const flags = unitFlags(u.kind, r, quality);
  return {
    key: unitKey(u),
    kind: u.kind,
    method: u.method,
    layer: u.target,
    index: u.index,
    label: u.label,
    status: r.error ? 'failed' : 'ok',
    ...(r.error ? { error: r.error } : {}),
    flags,
    width: r.width,
    height: r.height,
    frames: r.frames.length,
    curve,
    startObjective: curve[0] ?? NaN,
    finalObjective: curve[curve.length - 1] ?? NaN,
    seed: u.seed,
    settings: u.settings as unknown as ManifestUnit['settings'],
    backend,
    seconds: Number(seconds.toFixed(3)),
    cacheKey: u.cacheKey,
    ...(quality ? { quality: { ...quality } } : {}),
  };
}
