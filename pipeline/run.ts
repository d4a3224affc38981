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
import { backendFamily, selectBackend, type BackendChoice, type SelectedBackend } from './engine/backend.ts';
import { formBatches } from './engine/batch-size.ts';
import { buildLeanGraph, type LeanGraph } from './engine/graph.ts';
import { AtlasError } from './errors.ts';
import { loadLabels, loadLayersModelFromFile } from './model/load.ts';
import { resolveModel } from './model/source.ts';
import { cleanTemporaryFiles, writeFileAtomic } from './output/atomic.ts';
import { contactSheet, decodeRgb, encodeGif, encodePng, encodeThumb } from './output/images.ts';
import { MANIFEST_FILE, SCHEMA_VERSION, readManifestIfAny, type Manifest, type ManifestLayer, type ManifestUnit, type UnitSettings } from './output/manifest.ts';
import { sheetFile, slug, unitFiles, unitKey } from './output/paths.ts';
import { planClasses, planLayers, planUnits, type PlannedLayer, type PlannedUnit } from './plan.ts';
import { createProgress, type Progress } from './progress.ts';
import { topK } from './render/classify.ts';
import type { RenderBatch, UnitResult } from './render/method.ts';
import { METHODS, METHOD_IDS } from './render/methods/index.ts';
import { channelObjective, classObjective, type Objective } from './render/objectives.ts';
import type { PixelSpace } from './render/pixels.ts';
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
}

export interface RunSummary {
  outDir: string;
  manifest: Manifest;
  computed: number;
  reused: number;
  failed: number;
  backend: SelectedBackend;
}

export interface AtlasContext {
  loaded: LoadedConfig;
  graph: LeanGraph;
  pixels: PixelSpace;
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
  const { config, dir } = loaded;
  for (const m of config.render.methods) {
    if (!METHODS[m]) throw new AtlasError(`${loaded.file}: render.methods: unknown method "${m}"; available: ${METHOD_IDS.join(', ')}`, { key: 'render.methods' });
  }
  const resolved = await resolveModel({
    id: config.model.id,
    source: config.model.source,
    baseDir: dir,
    modelsDir: env.ATLAS_MODELS,
    cacheDir: path.join(dir, '.atlas-cache', 'models'),
  });
  const { model, weightsHash } = await loadLayersModelFromFile(resolved.modelJson);
  let graph: LeanGraph;
  try {
    graph = buildLeanGraph(model);
  } catch (err) {
    throw new AtlasError(`${resolved.modelJson}: ${(err as Error).message}`, { file: resolved.modelJson });
  }
  // The lean graph holds its own copies of the weights.
  model.dispose();
  const outputNode = graph.nodes[graph.nodes.length - 1]!.name;
  const classCount = graph.nodes[graph.nodes.length - 1]!.outputShape.reduce<number>((a, b) => a * (b ?? 1), 1);
  const labelsFile = config.model.labels ? path.resolve(dir, config.model.labels) : path.join(path.dirname(resolved.modelJson), 'labels.json');
  const labels =
    config.model.labels || (await fs.access(labelsFile).then(() => true, () => false))
      ? await loadLabels(labelsFile, classCount)
      : Array.from({ length: classCount }, (_, i) => `class ${i}`);
  const layers = planLayers(config.layers, graph.nodes);
  const classes = planClasses(config.classes, labels);
  const scoreIsLogit = graph.logitNode !== undefined;
  const scoreLayer = graph.logitNode ?? outputNode;
  const size = config.render.size ? ([config.render.size, config.render.size] as [number, number]) : ([graph.inputShape[0], graph.inputShape[1]] as [number, number]);
  return {
    loaded,
    graph,
    pixels: config.model.pixels,
    labels,
    layers,
    classes,
    scoreLayer,
    scoreIsLogit,
    outputNode,
    weightsHash,
    modelOrigin: resolved.origin,
    size,
  };
}

function settingsFor(ctx: AtlasContext, kind: 'filter' | 'class'): UnitSettings {
  const r = ctx.loaded.config.render;
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
  };
}

/** Everything that determines a unit's pixels. */
export function cacheKeyOf(ctx: AtlasContext, unit: PlannedUnit, settings: UnitSettings, seed: number, backend: string, photoHash: string | null): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: SCHEMA_VERSION,
      weights: ctx.weightsHash,
      pixels: ctx.pixels,
      unit: unitKey(unit),
      target: unit.target,
      settings,
      photoHash,
      seed,
      backend: backendFamily(backend as never),
      gifFrameMs: ctx.loaded.config.render.gifFrameMs,
    }),
  );
  return h.digest('hex').slice(0, 32);
}

async function filesExist(outDir: string, files: Record<string, string>): Promise<boolean> {
  for (const f of Object.values(files)) {
    try {
      await fs.access(path.join(outDir, f));
    } catch {
      return false;
    }
  }
  return true;
}

function objectiveFor(ctx: AtlasContext, batch: PlannedUnit[]): Objective {
  const head = batch[0]!;
  const r = ctx.loaded.config.render;
  if (head.kind === 'filter') return channelObjective(head.target, batch.map((u) => u.index), r.border, r.redirect);
  return classObjective({ node: ctx.scoreLayer, isLogit: ctx.scoreIsLogit }, batch.map((u) => u.index), ctx.loaded.config.model.score);
}

export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const env = options.env ?? process.env;
  const progress = options.progress ?? createProgress(process.stderr, options.quiet);
  const loaded = await loadConfig(options.configFile);
  const { config } = loaded;
  const outDir = path.resolve(loaded.dir, config.output);
  await ensureWritable(outDir);

  const backend = await selectBackend(options.backend ?? config.render.backend);
  progress.log(`backend: ${backend.name}${backend.skipped.length ? ` (skipped ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`);

  const ctx = await prepareAtlas(loaded, env);
  if (ctx.graph.fallbackLayers.length) progress.log(`note: no lean rule for ${ctx.graph.fallbackLayers.join(', ')}; they run through tf.layers (slower)`);

  let photo: Float32Array | undefined;
  let photoHash: string | null = null;
  if (config.render.photo) {
    const file = path.resolve(loaded.dir, config.render.photo);
    const decoded = await decodeRgb(file, ctx.size).catch((err: Error) => {
      throw new AtlasError(`${loaded.file}: render.photo: cannot read image ${file}: ${err.message}`, { key: 'render.photo' });
    });
    photo = Float32Array.from(decoded.rgb, (v) => v / 127.5 - 1);
    photoHash = createHash('sha256').update(decoded.rgb).digest('hex').slice(0, 16);
  }

  await cleanTemporaryFiles(outDir);
  const previous = options.force ? undefined : await readManifestIfAny(outDir);
  const previousUnits = new Map((previous?.units ?? []).map((u) => [u.key, u]));

  const planned = planUnits(config.render.methods, ctx.layers, ctx.classes, ctx.scoreLayer);
  const units = new Map<string, ManifestUnit>();
  const todo: (PlannedUnit & { seed: number; settings: UnitSettings; cacheKey: string })[] = [];
  let reused = 0;
  for (const u of planned) {
    const key = unitKey(u);
    const settings = settingsFor(ctx, u.kind);
    const seed = unitSeed(config.render.seed, key);
    const cacheKey = cacheKeyOf(ctx, u, settings, seed, backend.name, photoHash);
    const old = previousUnits.get(key);
    if (old && old.cacheKey === cacheKey && old.status === 'ok' && old.files && (await filesExist(outDir, old.files))) {
      units.set(key, old);
      reused++;
    } else {
      todo.push({ ...u, seed, settings, cacheKey });
    }
  }

  const manifestOf = (): Manifest => buildManifest(ctx, backend, planned, units);
  const writeLimit = pLimit(1);
  const writeManifest = () => writeLimit(() => writeFileAtomic(path.join(outDir, MANIFEST_FILE), JSON.stringify(manifestOf(), null, 1)));

  const encodeLimit = pLimit(2);
  const pending: Promise<void>[] = [];
  const groups = await formBatches(todo, config.render.batch, ctx.graph, ctx.size, (line) => progress.log(line));
  const totalSteps = todo.reduce((s, u) => s + u.settings.steps, 0);
  progress.log(`${planned.length} units: ${todo.length} to compute, ${reused} reused from ${path.relative(process.cwd(), outDir) || '.'}`);
  progress.start(totalSteps, planned.length);
  let computed = 0;
  let failed = 0;
  let rendered = reused;

  for (const group of groups) {
    const head = group[0]!;
    const method = METHODS[head.method]!;
    const settings = head.settings;
    const batch: RenderBatch = {
      units: group.map((u) => ({ key: unitKey(u), seed: u.seed })),
      objective: objectiveFor(ctx, group),
      size: ctx.size,
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
      results = await method.render(batch, { graph: ctx.graph, pixels: ctx.pixels, onStep: () => progress.tick(group.length) });
    } catch (err) {
      results = group.map((u) => ({ key: unitKey(u), image: new Uint8Array(), width: 0, height: 0, frames: [], curve: [], error: (err as Error).message }));
    }
    const seconds = (performance.now() - t0) / 1000 / group.length;
    let tops: number[][] | undefined;
    if (head.kind === 'class') {
      const ok = results.filter((r) => !r.error);
      if (ok.length) {
        const found = await topK(ctx.graph, ctx.pixels, ctx.outputNode, ok.map((r) => r.image), ok[0]!.width, ok[0]!.height);
        tops = results.map((r) => (r.error ? [] : found.shift()!));
      }
    }
    results.forEach((result, i) => {
      const u = group[i]!;
      const entry = unitEntry(ctx, u, result, backend.name, seconds, tops?.[i]);
      pending.push(
        encodeLimit(async () => {
          if (!result.error) {
            try {
              const files = unitFiles(config.model.id, u);
              await Promise.all([
                encodePng(result.image, result.width, result.height).then((b) => writeFileAtomic(path.join(outDir, files.png), b)),
                encodeThumb(result.image, result.width, result.height).then((b) => writeFileAtomic(path.join(outDir, files.webp), b)),
                encodeGif(result.frames, result.width, result.height, config.render.gifFrameMs).then((b) => writeFileAtomic(path.join(outDir, files.gif), b)),
              ]);
              entry.files = files;
            } catch (err) {
              entry.status = 'failed';
              entry.error = `encoding its images failed: ${(err as Error).message}`;
            }
          }
          if (entry.status === 'failed') failed++;
          else computed++;
          units.set(entry.key, entry);
          await writeManifest();
        }),
      );
    });
    rendered += results.length;
    progress.batchDone(rendered, planned.length, `${head.method} ${head.kind === 'filter' ? head.layer : 'classes'}: ${group.map((u) => u.index).join(', ')}`);
  }
  await Promise.all(pending);
  progress.stop();

  await writeSheets(ctx, outDir);
  const manifest = manifestOf();
  await writeFileAtomic(path.join(outDir, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  progress.log(`done: ${computed} computed, ${reused} reused, ${failed} failed → ${path.join(outDir, MANIFEST_FILE)}`);
  ctx.graph.dispose();
  return { outDir, manifest, computed, reused, failed, backend };
}

function unitEntry(ctx: AtlasContext, u: PlannedUnit & { seed: number; settings: UnitSettings; cacheKey: string }, r: UnitResult, backend: string, seconds: number, top?: number[]): ManifestUnit {
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
    ...(top ? { quality: { top5: top, top1: top[0], top1IsTarget: top[0] === u.index, top5HasTarget: top.includes(u.index) } } : {}),
  };
}

function buildManifest(ctx: AtlasContext, backend: SelectedBackend, planned: PlannedUnit[], units: Map<string, ManifestUnit>): Manifest {
  const { config } = ctx.loaded;
  const sheetsOf = (layer: PlannedLayer): ManifestLayer['sheets'] => {
    const out: ManifestLayer['sheets'] = {};
    for (const m of config.render.methods) {
      out[m] = [];
      for (let s = 0; s * SHEET_TILES < layer.filters.length; s++) {
        out[m]!.push({ file: sheetFile(config.model.id, m, layer.name, s), filters: layer.filters.slice(s * SHEET_TILES, (s + 1) * SHEET_TILES) });
      }
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

async function writeSheets(ctx: AtlasContext, outDir: string): Promise<void> {
  const { config } = ctx.loaded;
  for (const method of config.render.methods) {
    for (const layer of ctx.layers) {
      for (let s = 0; s * SHEET_TILES < layer.filters.length; s++) {
        const filters = layer.filters.slice(s * SHEET_TILES, (s + 1) * SHEET_TILES);
        let width = 0;
        let height = 0;
        const tiles = await Promise.all(
          filters.map(async (f) => {
            const file = path.join(outDir, unitFiles(config.model.id, { kind: 'filter', method, layer: layer.name, index: f }).png);
            const img = await decodeRgb(file).catch(() => undefined);
            if (img) [width, height] = [img.width, img.height];
            return img;
          }),
        );
        if (!width) continue;
        const sheet = contactSheet(tiles.map((t) => (t && t.width === width && t.height === height ? t.rgb : undefined)), width, height);
        const png = await encodePng(sheet.rgb, sheet.width, sheet.height);
        await writeFileAtomic(path.join(outDir, sheetFile(config.model.id, method, layer.name, s)), png);
      }
    }
  }
}

async function ensureWritable(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
  } catch (err) {
    throw new AtlasError(`output: folder ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { key: 'output' });
  }
}
