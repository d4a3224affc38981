/**
 * The pipeline, end to end: config → backend → model → plan → batches rendered by a method →
 * images encoded (bounded concurrency, overlapping the next batch) → manifest after every batch →
 * contact sheets → final manifest. I/O lives here and in `output/`; the math is in `render/`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { selectBackend, type BackendChoice, type BackendName, type SelectedBackend } from './engine/backend.ts';
import type { LeanGraph } from './engine/graph.ts';
import { AtlasError, closest } from './errors.ts';
import { acquireLock, lockWriteError, type Lock } from './lock.ts';
import { loadLabels, loadModel } from './model/load.ts';
import { resolveModel } from './model/source.ts';
import { cleanTemporaryFiles, exists, writeFileAtomic } from './output/atomic.ts';
import { encodeFramesZip } from './output/frames-zip.ts';
import { contactSheet, decodeRgb, encodeGif, encodePng, encodeThumb } from './output/images.ts';
import { MANIFEST_FILE, SCHEMA_VERSION, readManifest, type Manifest, type ManifestLayer, type ManifestUnit, type UnitSettings } from './output/manifest.ts';
import { sheetFile, slug, unitFiles, unitKey } from './output/paths.ts';
import { formBatches } from './engine/batch-size.ts';
import { planClasses, planLayers, planUnits, type PlannedLayer, type PlannedUnit } from './plan.ts';
import { createProgress, type Progress } from './progress.ts';
import type { RenderBatch, UnitResult } from './render/method.ts';
import { METHODS, METHOD_IDS } from './render/methods/index.ts';
import { lucidBatchFields, lucidObjective, lucidUnitSettings, type LucidUnitSettings } from './render/methods/lucid.ts';
import { classQuality, filterQualityRecords, type UnitQuality } from './render/quality.ts';
import { classObjective, filterObjective, type Objective } from './render/objectives.ts';
import type { PixelSpace } from './render/pixels.ts';
import { resolvePixels } from './render/pixel-presets.ts';
import { unitSeed } from './render/seed.ts';

export const GENERATOR = 'filter-atlas 0.1.0';
const SHEET_TILES = 64;

export interface RunOptions {
  configFile: string;
  /** Recompute every unit, ignoring cached results. */
  force?: boolean;
  /** Overrides render.backend. */
  backend?: BackendChoice;
  /** No progress output. */
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  progress?: Progress;
  /** When aborted (the CLI's first Ctrl-C), the run stops after the current batch, keeping everything finished. */
  signal?: AbortSignal;
}

export interface RunSummary {
  outDir: string;
  manifest: Manifest;
  computed: number;
  reused: number;
  failed: number;
  backend: SelectedBackend;
  /** Optimization steps run: 0 when every unit was reused. */
  steps: number;
  /** Stopped early by `signal`. */
  interrupted: boolean;
  /** Units neither reused nor finished (left for the next run when interrupted). */
  remaining: number;
  /** Outputs outside units that could not be made (contact sheets); the CLI exits 1 when any. */
  problems: string[];
}

export interface AtlasContext {
  loaded: LoadedConfig;
  graph: LeanGraph;
  pixels: PixelSpace;
  /** The chosen pixel range and why (printed). */
  pixelsNote: string;
  labels: string[];
  layers: PlannedLayer[];
  classes: { id: number; label: string }[];
  scoreLayer: string;
  scoreIsLogit: boolean;
  outputNode: string;
  weightsHash: string;
  modelOrigin: string;
  size: [number, number];
}

/** Loads everything the render needs and checks the config against the model. Throws AtlasError on bad input. */
export async function prepareAtlas(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<AtlasContext> {
  try {
    return await prepareAtlasUnlocated(loaded, env);
  } catch (err) {
    throw locate(loaded, err);
  }
}

async function prepareAtlasUnlocated(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<AtlasContext> {
  const { config, dir } = loaded;
  for (const [i, m] of config.render.methods.entries()) {
    if (!METHODS[m]) {
      const suggestion = closest(m, METHOD_IDS, 1)[0];
      throw new AtlasError(`render.methods[${i}]: unknown method "${m}"; expected one of ${METHOD_IDS.join(', ')}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
        key: 'render.methods',
        path: ['render', 'methods', i],
      });
    }
  }
  const resolved = await resolveModel({
    id: config.model.id,
    source: config.model.source,
    baseDir: dir,
    modelsDir: env.ATLAS_MODELS,
    cacheDir: path.join(dir, '.atlas-cache', 'models'),
  });
  const { graph, weightsHash } = await loadModel(resolved.modelJson);
  try {
    return await planAtlas(loaded, graph, resolved.modelJson, resolved.origin, weightsHash);
  } catch (err) {
    graph.dispose();
    throw err;
  }
}

async function planAtlas(loaded: LoadedConfig, graph: LeanGraph, modelJson: string, modelOrigin: string, weightsHash: string): Promise<AtlasContext> {
  const { config, dir } = loaded;
  const outputNode = graph.nodes[graph.nodes.length - 1]!.name;
  const classCount = graph.nodes[graph.nodes.length - 1]!.outputShape.reduce<number>((a, b) => a * (b ?? 1), 1);
  const labelsFile = config.model.labels ? path.resolve(dir, config.model.labels) : path.join(path.dirname(modelJson), 'labels.json');
  const labels =
    config.model.labels || (await exists(labelsFile))
      ? await loadLabels(labelsFile, classCount, config.model.labels ? 'model.labels' : 'model.source')
      : Array.from({ length: classCount }, (_, i) => `class ${i}`);
  const layers = planLayers(config.layers, graph.nodes);
  const classes = planClasses(config.classes, labels, graph.nodes.find((n) => n.name === graph.outputName));
  const { space: pixels, note: pixelsNote } = resolvePixels(config.model.pixels, graph);
  const scoreIsLogit = graph.logitNode !== undefined;
  const scoreLayer = graph.logitNode ?? outputNode;
  const size = config.render.size ? ([config.render.size, config.render.size] as [number, number]) : ([graph.inputShape[0], graph.inputShape[1]] as [number, number]);
  return {
    loaded,
    graph,
    pixels,
    pixelsNote,
    labels,
    layers,
    classes,
    scoreLayer,
    scoreIsLogit,
    outputNode,
    weightsHash,
    modelOrigin,
    size,
  };
}

function settingsFor(ctx: AtlasContext, kind: 'filter' | 'class', method: string): UnitSettings {
  const r = ctx.loaded.config.render;
  if (method === 'lucid') return lucidUnitSettings(r.lucid, { kind, size: ctx.size, border: r.border, redirect: r.redirect, score: ctx.loaded.config.model.score });
  const phase = kind === 'filter' ? r.filters : r.classes;
  return {
    steps: phase.steps,
    stepSize: phase.stepSize,
    l2: phase.l2,
    size: ctx.size,
    border: r.border,
    crop: r.crop,
    deprocess: phase.deprocess,
    frameEvery: r.frameEvery,
    photo: r.photo ?? null,
    ...(kind === 'class' ? { score: ctx.loaded.config.model.score } : { redirect: r.redirect }),
    // Written only when not the default, so that atlases made before it was a setting keep their cache keys.
    ...(kind === 'filter' && r.filters.objective !== 'channel' ? { filterObjective: r.filters.objective } : {}),
  };
}

/**
 * Everything that determines a unit's pixels (PNG, thumbnail and GIF), and nothing else, so that a
 * changed setting recomputes only the units it affects: the border and redirect only shape filter
 * images, the score only class images, the crop only the lecture deprocessing. The batch size does
 * not (each image's gradient is its own), nor does the label.
 */
export function cacheKeyOf(ctx: AtlasContext, unit: PlannedUnit, settings: UnitSettings, seed: number, backend: BackendName, photoHash: string | null): string {
  const shaping: Partial<UnitSettings> = { ...settings };
  if (unit.kind === 'class') delete shaping.border;
  if (settings.deprocess !== 'lecture') delete shaping.crop;
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: SCHEMA_VERSION,
      weights: ctx.weightsHash,
      pixels: ctx.pixels,
      unit: unitKey(unit),
      target: unit.target,
      settings: shaping,
      // The photo's pixels, for units whose settings start from it (the lucid method never does).
      photoHash: settings.photo ? photoHash : null,
      seed,
      // Each backend computes its own float rounding: a unit made on another backend is made again.
      backend,
      gifFrameMs: ctx.loaded.config.render.gifFrameMs,
    }),
  );
  return h.digest('hex').slice(0, 32);
}

async function filesExist(outDir: string, files: Record<string, string>): Promise<boolean> {
  for (const f of Object.values(files)) if (!(await exists(path.join(outDir, f)))) return false;
  return true;
}

function objectiveFor(ctx: AtlasContext, batch: (PlannedUnit & { settings: UnitSettings })[]): Objective {
  const head = batch[0]!;
  const r = ctx.loaded.config.render;
  if (head.method === 'lucid') {
    const indices = batch.map((u) => u.index);
    return lucidObjective(head.settings as LucidUnitSettings, { kind: head.kind, target: head.target, indices }, { node: ctx.scoreLayer, isLogit: ctx.scoreIsLogit });
  }
  if (head.kind === 'filter')
    return filterObjective(head.settings.filterObjective ?? 'channel', head.target, batch.map((u) => u.index), { border: r.border, redirect: r.redirect, preActivation: false });
  return classObjective({ node: ctx.scoreLayer, isLogit: ctx.scoreIsLogit }, batch.map((u) => u.index), ctx.loaded.config.model.score);
}

export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const env = options.env ?? process.env;
  const progress = options.progress ?? createProgress(process.stderr, options.quiet);
  // 1. Validate everything (config, model, labels, plan, photo) before touching the output folder.
  const loaded = await loadConfig(options.configFile);
  const { config } = loaded;
  const outDir = path.resolve(loaded.dir, config.output);

  const backend = await selectBackend(options.backend ?? config.render.backend);
  progress.log(`backend: ${backend.name}${backend.skipped.length ? ` (skipped ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`);

  const ctx = await prepareAtlas(loaded, env);
  let lock: Lock | undefined;
  try {
    progress.log(ctx.pixelsNote);

    let photo: Float32Array | undefined;
    let photoHash: string | null = null;
    if (config.render.photo) {
      const file = path.resolve(loaded.dir, config.render.photo);
      const decoded = await decodeRgb(file, ctx.size).catch((err: Error) => {
        throw locate(loaded, new AtlasError(`render.photo: cannot read image ${file}: ${err.message}; expected a PNG, JPEG or WebP file`, { key: 'render.photo', path: ['render', 'photo'] }));
      });
      photo = Float32Array.from(decoded.rgb, (v) => v / 127.5 - 1);
      photoHash = createHash('sha256').update(decoded.rgb).digest('hex').slice(0, 16);
    }

    // 2. Take the output folder: create it, lock it, remove what a killed run left.
    await prepareOutputDir(loaded, outDir);
    try {
      lock = await acquireLock(outDir);
    } catch (err) {
      const bad = lockWriteError(outDir, err);
      throw bad ? locate(loaded, new AtlasError(bad.message, { key: 'output', path: ['output'] })) : err;
    }
    if (lock.tookOver) progress.log(`took over the lock of pid ${lock.tookOver.pid} (no longer running)`);
    const cleaned = await cleanTemporaryFiles(outDir);
    if (cleaned) progress.log(`removed ${cleaned} temporary file(s) left by an interrupted run`);

    // 3. What is still valid: units whose cacheKey matches and whose files exist.
    const previous = await readPreviousManifest(outDir, progress);
    const previousUnits = new Map((previous?.units ?? []).map((u) => [u.key, u]));
    const planned = planUnits(config.render.methods, ctx.layers, ctx.classes, ctx.scoreLayer);
    const units = new Map<string, ManifestUnit>();
    const todo: TodoUnit[] = [];
    let reused = 0;
    for (const u of planned) {
      const key = unitKey(u);
      const settings = settingsFor(ctx, u.kind, u.method);
      const seed = unitSeed(config.render.seed, key);
      const cacheKey = cacheKeyOf(ctx, u, settings, seed, backend.name, photoHash);
      const old = previousUnits.get(key);
      const valid = old !== undefined && old.cacheKey === cacheKey && old.status === 'ok' && old.files !== undefined && (await filesExist(outDir, old.files));
      // A valid entry stays listed (under --force until its unit is recomputed); labels may have changed.
      if (valid) units.set(key, { ...old, label: u.label });
      if (valid && !options.force) reused++;
      else todo.push({ ...u, seed, settings, cacheKey });
    }

    // Sheets the manifest may name: existing files the previous manifest listed for the same filters.
    const sheets = new Set<string>();
    for (const { file, filters } of sheetPlan(ctx)) {
      const before = previous?.layers.flatMap((l) => Object.values(l.sheets ?? {}).flat()).find((e) => e.file === file);
      if (before && sameNumbers(before.filters, filters) && (await exists(path.join(outDir, file)))) sheets.add(file);
    }

    const manifestOf = (): Manifest => buildManifest(ctx, backend, planned, units, sheets);
    const manifestFile = path.join(outDir, MANIFEST_FILE);
    let lastBody = previous ? manifestBody(previous) : '';
    const writeLimit = pLimit(1);
    /** Writes the manifest when its content (apart from generatedAt) changed. Serialized. */
    const writeManifest = () =>
      writeLimit(async () => {
        const manifest = manifestOf();
        const body = manifestBody(manifest);
        if (body === lastBody) return;
        await writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 1));
        lastBody = body;
      });
    // Before any unit file is replaced, the manifest stops naming units that are stale or gone.
    await writeManifest();

    const encodeLimit = pLimit(2);
    const groups = await formBatches(todo, config.render.batch, ctx.graph, ctx.size, (line) => progress.log(line));
    const totalSteps = todo.reduce((s, u) => s + u.settings.steps, 0);
    const where = path.relative(process.cwd(), outDir) || '.';
    if (todo.length === 0) progress.log(`nothing to compute: all ${planned.length} units in ${where} are up to date (no optimization run; --force recomputes)`);
    else progress.log(`${planned.length} units: ${todo.length} to compute, ${reused} reused from ${where}`);
    let computed = 0;
    let failed = 0;
    let dead = 0;
    let steps = 0;
    let rendered = reused;
    let interrupted = false;
    const problems: string[] = [];
    if (todo.length) progress.start(totalSteps, planned.length);

    /** Writes of each rendered batch, oldest first: at most one batch is written while the next renders. */
    const writing: Promise<unknown>[] = [];
    for (const group of groups) {
      // TF.js steps yield only to microtasks, so file writes progress only while the loop waits here:
      // finishing the previous batch's writes keeps finished units on disk and memory bounded.
      while (writing.length > 1) await writing.shift();
      // One turn of the event loop, so that a pending Ctrl-C is seen before the next batch starts.
      await new Promise((resolve) => setImmediate(resolve));
      // The first Ctrl-C: stop between batches; everything finished is written below.
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const head = group[0]!;
      const method = METHODS[head.method]!;
      const settings = head.settings;
      const common = { units: group.map((u) => ({ key: unitKey(u), seed: u.seed })), objective: objectiveFor(ctx, group), size: ctx.size };
      const batch: RenderBatch =
        head.method === 'lucid'
          ? { ...common, ...lucidBatchFields(settings as LucidUnitSettings) }
          : {
              ...common,
              steps: settings.steps,
              stepSize: settings.stepSize,
              l2: settings.l2,
              frameEvery: settings.frameEvery,
              deprocess: settings.deprocess,
              crop: settings.crop,
              photo,
            };
      const t0 = performance.now();
      let results: UnitResult[];
      try {
        results = await method.render(batch, {
          graph: ctx.graph,
          pixels: ctx.pixels,
          onStep: () => {
            steps++;
            progress.tick(group.length);
          },
        });
      } catch (err) {
        results = group.map((u) => ({ key: unitKey(u), image: new Uint8Array(), input: new Uint8Array(), width: 0, height: 0, frames: [], curve: [], error: `rendering failed: ${(err as Error).message}` }));
      }
      const seconds = (performance.now() - t0) / 1000 / group.length;
      const qualities = await qualityOf(ctx, group, results).catch((err: Error) => {
        // Quality numbers are extra: the images are still good.
        progress.log(`note: no quality numbers for ${head.kind === 'class' ? 'classes' : `${head.target} filters`} ${group.map((u) => u.index).join(', ')}: ${err.message}`);
        return undefined;
      });
      // Under --force a unit may still be listed with its previous files: unlist it before they are replaced.
      if (group.some((u) => units.has(unitKey(u)))) {
        for (const u of group) units.delete(unitKey(u));
        await writeManifest();
      }
      const batchWrites = results.map((result, i) => {
        const u = group[i]!;
        const entry = unitEntry(ctx, u, result, backend.name, seconds, qualities?.[i]);
        return encodeLimit(async () => {
            if (!result.error) {
              try {
                const files = unitFiles(config.model.id, u);
                await Promise.all([
                  encodePng(result.image, result.width, result.height).then((b) => writeFileAtomic(path.join(outDir, files.png), b)),
                  encodeThumb(result.image, result.width, result.height).then((b) => writeFileAtomic(path.join(outDir, files.webp), b)),
                  encodeGif(result.frames, result.width, result.height, config.render.gifFrameMs).then((b) => writeFileAtomic(path.join(outDir, files.gif), b)),
                  encodeFramesZip(result.frames, result.width, result.height).then((b) => writeFileAtomic(path.join(outDir, files.zip), b)),
                ]);
                entry.files = files;
              } catch (err) {
                entry.status = 'failed';
                entry.error = `encoding or writing its images failed: ${(err as Error).message}`;
                entry.flags = entry.flags.filter((f) => f !== 'dead');
              }
            }
            if (entry.status === 'failed') {
              failed++;
              progress.log(`unit ${entry.key} failed: ${entry.error}`);
            } else {
              computed++;
              if (entry.flags.includes('dead')) dead++;
            }
            // Files first, then the manifest that names them.
            units.set(entry.key, entry);
            await writeManifest();
        });
      });
      writing.push(Promise.all(batchWrites));
      rendered += results.length;
      progress.batchDone(rendered, planned.length, `${head.method} ${head.kind === 'filter' ? head.layer : 'classes'}: ${group.map((u) => u.index).join(', ')}`);
    }
    await Promise.all(writing);
    progress.stop();

    if (!interrupted) problems.push(...(await writeSheets(ctx, outDir, sheets)));
    await writeManifest();
    const manifest = manifestOf();
    const remaining = planned.length - reused - computed - failed;
    const counts = `${computed} computed, ${reused} reused, ${failed} failed${dead ? ` (${dead} dead filter${dead > 1 ? 's' : ''} flagged)` : ''}`;
    for (const p of problems) progress.log(`warning: ${p}`);
    if (interrupted) progress.log(`interrupted: ${counts}, ${remaining} left; rerun the same command to continue → ${manifestFile}`);
    else progress.log(`done: ${counts} → ${manifestFile}`);
    return { outDir, manifest, computed, reused, failed, backend, steps, interrupted, remaining, problems };
  } finally {
    await lock?.release();
    ctx.graph.dispose();
  }
}

type TodoUnit = PlannedUnit & { seed: number; settings: UnitSettings; cacheKey: string };

/** The manifest as compared between writes: everything but its time stamp. */
function manifestBody(m: Manifest): string {
  return JSON.stringify({ ...m, generatedAt: undefined });
}

function sameNumbers(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((v, i) => v === b[i]);
}

async function readPreviousManifest(outDir: string, progress: Progress): Promise<Manifest | undefined> {
  try {
    return await readManifest(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') progress.log(`note: ignoring ${path.join(outDir, MANIFEST_FILE)} (${(err as Error).message.split('\n')[0]}); every unit is recomputed`);
    return undefined;
  }
}

/**
 * Quality numbers of a rendered batch, measured on each unit's final optimized image (`input`):
 * classes, the model's top-k on it and on jittered/scaled copies; filters, where the target ranks
 * among the layer's channels (on the layer's output and, for a ReLU/ReLU6 layer, its pre-activation).
 * Failed units get none.
 */
async function qualityOf(ctx: AtlasContext, group: TodoUnit[], results: UnitResult[]): Promise<(UnitQuality | undefined)[] | undefined> {
  const ok = results.flatMap((r, i) => (r.error ? [] : [{ r, u: group[i]! }]));
  if (!ok.length) return undefined;
  const [h, w] = ctx.size;
  const inputs = ok.map((o) => o.r.input);
  const indices = ok.map((o) => o.u.index);
  const found: UnitQuality[] =
    group[0]!.kind === 'class'
      ? await classQuality(ctx.graph, ctx.pixels, ctx.outputNode, inputs, w, h, indices, ok.map((o) => o.u.seed))
      : await filterQualityRecords(ctx.graph, ctx.pixels, group[0]!.target, inputs, w, h, indices, ctx.loaded.config.render.border);
  return results.map((r) => (r.error ? undefined : found.shift()));
}

function unitEntry(ctx: AtlasContext, u: TodoUnit, r: UnitResult, backend: string, seconds: number, quality?: UnitQuality): ManifestUnit {
  // Six significant digits: the curve is for plotting and comparing, not for bit-exact replay.
  const curve = r.curve.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v));
  const start = curve[0] ?? NaN;
  const final = curve[curve.length - 1] ?? NaN;
  const flags: string[] = [];
  if (!r.error && u.kind === 'filter' && Math.max(...r.curve.map(Math.abs)) < 1e-6) flags.push('dead');
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
    startObjective: start,
    finalObjective: final,
    seed: u.seed,
    settings: u.settings,
    backend,
    seconds: Number(seconds.toFixed(3)),
    cacheKey: u.cacheKey,
    ...(quality ? { quality: { ...quality } } : {}),
  };
}

/** Every contact sheet of the config: file, method, layer and the filters it shows. */
function sheetPlan(ctx: AtlasContext): { file: string; method: string; layer: PlannedLayer; filters: number[] }[] {
  const { config } = ctx.loaded;
  const out: { file: string; method: string; layer: PlannedLayer; filters: number[] }[] = [];
  for (const method of config.render.methods) {
    for (const layer of ctx.layers) {
      for (let s = 0; s * SHEET_TILES < layer.filters.length; s++) {
        out.push({ file: sheetFile(config.model.id, method, layer.name, s), method, layer, filters: layer.filters.slice(s * SHEET_TILES, (s + 1) * SHEET_TILES) });
      }
    }
  }
  return out;
}

/** `sheets`: the sheet files that exist and show the filters listed (only those are named). */
function buildManifest(ctx: AtlasContext, backend: SelectedBackend, planned: PlannedUnit[], units: Map<string, ManifestUnit>, sheets: Set<string>): Manifest {
  const { config } = ctx.loaded;
  const plan = sheetPlan(ctx);
  const sheetsOf = (layer: PlannedLayer): ManifestLayer['sheets'] => {
    const out: ManifestLayer['sheets'] = {};
    for (const m of config.render.methods) {
      out[m] = plan.filter((p) => p.method === m && p.layer === layer && sheets.has(p.file)).map((p) => ({ file: p.file, filters: p.filters }));
    }
    return out;
  };
  return {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    generator: GENERATOR,
    site: { ...config.site },
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
    },
    backend: { name: backend.name, skipped: backend.skipped },
    methods: config.render.methods.map((id) => ({ id, name: METHODS[id]!.name, description: METHODS[id]!.description })),
    layers: ctx.layers.map((l) => ({ name: l.name, slug: slug(l.name), className: l.className, outputShape: l.outputShape, filterCount: l.filterCount, filters: l.filters, sheets: sheetsOf(l) })),
    classes: ctx.classes,
    // Planned order, only units that exist (finished now or earlier).
    units: planned.map((u) => units.get(unitKey(u))).filter((u): u is ManifestUnit => u !== undefined),
  };
}

/**
 * Writes the contact sheets that are missing or stale (not in `sheets`, which holds the ones the
 * previous manifest listed for the same filters, or a tile newer than the sheet); adds each written
 * sheet to `sheets`. Returns problems.
 */
async function writeSheets(ctx: AtlasContext, outDir: string, sheets: Set<string>): Promise<string[]> {
  const { config } = ctx.loaded;
  const problems: string[] = [];
  for (const { file, method, layer, filters } of sheetPlan(ctx)) {
    const abs = path.join(outDir, file);
    try {
      const tileFiles = filters.map((f) => path.join(outDir, unitFiles(config.model.id, { kind: 'filter', method, layer: layer.name, index: f }).png));
      const sheetStat = await fs.stat(abs).catch(() => undefined);
      let stale = !sheets.has(file) || !sheetStat;
      for (const t of tileFiles) {
        if (stale) break;
        const st = await fs.stat(t).catch(() => undefined);
        if (st && st.mtimeMs > sheetStat!.mtimeMs) stale = true;
      }
      if (!stale) continue;
      let width = 0;
      let height = 0;
      const tiles = await Promise.all(
        tileFiles.map(async (t) => {
          const img = await decodeRgb(t).catch(() => undefined);
          if (img) [width, height] = [img.width, img.height];
          return img;
        }),
      );
      if (!width) {
        sheets.delete(file);
        continue;
      }
      const sheet = contactSheet(tiles.map((t) => (t && t.width === width && t.height === height ? t.rgb : undefined)), width, height);
      const png = await encodePng(sheet.rgb, sheet.width, sheet.height);
      await writeFileAtomic(abs, png);
      sheets.add(file);
    } catch (err) {
      sheets.delete(file);
      problems.push(`contact sheet ${file}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** The output folder exists (created when missing) and is a folder this user can write. */
async function prepareOutputDir(loaded: LoadedConfig, dir: string): Promise<void> {
  const where = { key: 'output', path: ['output'] };
  const stat = await fs.stat(dir).catch(() => undefined);
  if (stat && !stat.isDirectory()) throw locate(loaded, new AtlasError(`output: ${dir} is a file; expected a folder (or a path where one can be created)`, where));
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw locate(loaded, new AtlasError(`output: cannot create or write the folder ${dir} (${code}); expected a folder this user can write`, where));
  }
}

/**
 * Adds the config file and line to an AtlasError raised about a config value (plan, model source,
 * labels, output). Errors about another file (model.json, labels) keep that file first and name
 * the config key that led there.
 */
export function locate(loaded: LoadedConfig, err: unknown): unknown {
  if (!(err instanceof AtlasError) || !err.path || err.file === loaded.file) return err;
  const line = loaded.lineOf(err.path);
  const at = `${loaded.file}:${line ?? '?'}`;
  if (err.file) return new AtlasError(`${err.message} (from ${err.path.join('.')} at ${at})`, { file: err.file, key: err.key, line: err.line, path: err.path });
  return new AtlasError(`${at} ${err.message}`, { file: loaded.file, key: err.key, line, path: err.path });
}
