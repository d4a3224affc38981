/**
 * The pipeline, end to end, in phases: prepare (config → backend → model → plan, all checked before
 * anything is written) → open the output folder (lock, leftovers) → plan reuse (cache keys) →
 * render (batches through each method's parts; the AtlasWriter writes files, then the manifest) →
 * contact sheets → final manifest. No method is named here: methods are reached through
 * `render/methods/index.ts`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { selectBackend, type BackendChoice, type SelectedBackend } from './engine/backend.ts';
import { batchCandidates, memoryBudget } from './engine/batch-size.ts';
import { createGradientEngine } from './engine/select-engine.ts';
import { tfjsEngine } from './engine/tfjs-engine.ts';
import { AtlasError } from './errors.ts';
import { acquireLock, lockWriteError, type Lock } from './lock.ts';
import { cleanTemporaryFiles } from './output/atomic.ts';
import { MANIFEST_FILE, readManifest, type Manifest } from './output/manifest.ts';
import { listedSheets, sheetPlan, writeSheets } from './output/sheets.ts';
import { AtlasWriter } from './output/writer.ts';
import { writeLiveFiles } from './output/live-files.ts';
import { liveDefaults, loweredOf } from './run/live.ts';
import { runDatasetPhase } from './dataset/phase.ts';
import { listDataset } from './dataset/photos.ts';
import { createProgress, type Progress } from './progress.ts';
import { loadStartPhotos, locate, prepareAtlas } from './run/prepare.ts';
import { renderAll } from './run/render-all.ts';
import { planReuse } from './run/reuse.ts';
import { publishedSize, sizeReport } from './run/media.ts';
import { formatBytes, type MediaPlan } from './output/media-plan.ts';
import { batchRunner, shardSelection } from './run/scale.ts';
import { shardDir, writeShardInfo, type Shard } from './shard.ts';

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
  /** Overrides render.workers. */
  workers?: number | 'auto';
  /** Render only this shard of the planned units, into its own folder (`shardDir`) unless `output` is given. */
  shard?: Shard;
  /** Overrides the config's output folder. */
  output?: string;
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

export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const progress = options.progress ?? createProgress(process.stderr, options.quiet);
  const loaded = await loadConfig(options.configFile);
  for (const notice of loaded.notices) progress.log(notice);
  const atlasDir = path.resolve(loaded.dir, loaded.config.output);
  const outDir = options.output ? path.resolve(options.output) : options.shard ? shardDir(atlasDir, options.shard) : atlasDir;
  const backend = await selectBackend(options.backend ?? loaded.config.render.backend);
  progress.log(`backend: ${backend.name}${backend.detail ? `, ${backend.detail}` : ''}${backend.skipped.length ? ` (skipped ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`);
  const ctx = await prepareAtlas(loaded, options.env ?? process.env);
  // The network runs on the selected engine (ONNX Runtime for an onnx-* backend, when it compiles this model).
  const { engine, fallback } = await createGradientEngine(backend, { nodes: ctx.graph.lowered }, () => tfjsEngine(ctx.graph));
  if (fallback) progress.log(`note: ${fallback}`);
  let lock: Lock | undefined;
  try {
    progress.log(ctx.pixelsNote);
    const photos = await loadStartPhotos(ctx);
    const dataset = await listDataset(loaded);
    lock = await openOutput(loaded, outDir, progress);
    const previous = await readPreviousManifest(outDir, progress);
    const only = options.shard && shardSelection(ctx, options.shard, progress);
    const reuse = await planReuse(ctx, { outDir, previous, backend: backend.name, force: options.force ?? false, photos, only });
    if (options.shard) await writeShardInfo(outDir, only!.info(reuse.planned, backend.name));
    const sheets = sheetPlan(loaded.config.model.id, loaded.config.render.methods, ctx.layers, ctx.media.tier.sheet.format);
    const writer = new AtlasWriter({ ctx, backend, outDir, planned: reuse.planned, units: reuse.units, sheetPlan: sheets, sheets: await listedSheets(outDir, sheets, previous), previous, progress });
    // Before any unit file is replaced, the manifest stops naming units that are stale or gone.
    await writer.writeManifest();
    const where = path.relative(process.cwd(), outDir) || '.';
    const { todo, reused, planned } = reuse;
    progress.log(mediaLine(ctx.media));
    if (reuse.reencode.length) {
      progress.log(`${reuse.reencode.length} units were encoded under another media tier: re-encoding them as "${ctx.media.tier.name}" from their stored frames (no render)`);
      await Promise.all(reuse.reencode.map((u) => writer.reencode(u)));
    }
    if (todo.length === 0) progress.log(`nothing to compute: all ${planned.length} units in ${where} are up to date (no optimization run; --force recomputes)`);
    else progress.log(`${planned.length} units: ${todo.length} to compute, ${reused} reused from ${where}`);
    if (todo.length)
      progress.start(
        todo.reduce((s, u) => s + u.settings.steps, 0),
        planned.length,
      );
    const runner = batchRunner(loaded, backend.name, options.workers, todo, progress, options.env ?? process.env);
    const outcome = await renderAll({
      batch: { ctx, engine, photos, log: (line) => progress.log(line) },
      runner,
      todo,
      writer,
      progress,
      done: reused,
      total: planned.length,
      signal: options.signal,
      batchCandidates: batchCandidates(backend.name),
      batchBudgetBytes: memoryBudget(backend.name),
    });
    progress.stop();
    // A shard's sheets would show only its own tiles, and its dataset ranks only its units: merge, then a rerun, makes them.
    const problems = outcome.interrupted || options.shard ? [] : await writeSheets(loaded.config.model.id, sheets, outDir, writer.sheets, ctx.media.tier);
    if (dataset && !outcome.interrupted && !options.shard) await runDatasetPhase({ ctx, input: dataset, outDir, writer, progress, signal: options.signal });
    if (!outcome.interrupted && !options.shard) {
      const live = await writeLiveFiles(
        outDir,
        loaded.config.model.id,
        loweredOf(ctx.graph),
        ctx.weightsHash,
        { pixels: ctx.pixels, ...(ctx.inputSize ? { inputSize: ctx.inputSize } : {}) },
        liveDefaults(ctx),
      );
      progress.log(live.note);
      writer.setLive(live.files);
    }
    await writer.writeManifest();
    progress.log(sizeReport(await publishedSize(outDir, writer.manifest().units), ctx.media));
    return finish({ outDir, writer, backend, reused, planned: planned.length, problems, progress, ...outcome });
  } finally {
    await lock?.release();
    engine.dispose();
    ctx.graph.dispose();
  }
}

/** The media plan as the run announces it. */
function mediaLine(plan: MediaPlan): string {
  const t = plan.tier;
  const image = t.image.format === 'png' ? 'PNG' : `JPEG q${t.image.quality}`;
  const gif = t.gif.encoder === 'full' ? 'every frame' : `${t.gif.frames} frames chosen by change, ≤ ${t.gif.size} px, ${t.gif.colours} colours`;
  const budget = plan.profile === 'budget' ? `budget ${formatBytes(plan.budget)}` : `site.media: ${plan.profile}, whatever the budget`;
  return `media: tier "${t.name}" for ${plan.units} units (${budget}; estimated ${formatBytes(plan.estimate)}): image ${image}, GIF ${gif}, frames ZIP ${t.zip === 'stored' ? 'stored' : 'made in the browser from the GIF'}`;
}

function finish(o: {
  outDir: string;
  writer: AtlasWriter;
  backend: SelectedBackend;
  reused: number;
  planned: number;
  problems: string[];
  progress: Progress;
  interrupted: boolean;
  steps: number;
}): RunSummary {
  const { computed, failed, dead } = o.writer;
  const remaining = o.planned - o.reused - computed - failed;
  const counts = `${computed} computed, ${o.reused} reused, ${failed} failed${dead ? ` (${dead} dead filter${dead > 1 ? 's' : ''} flagged)` : ''}`;
  for (const p of o.problems) o.progress.log(`warning: ${p}`);
  if (o.interrupted) o.progress.log(`interrupted: ${counts}, ${remaining} left; rerun the same command to continue → ${o.writer.manifestFile}`);
  else o.progress.log(`done: ${counts} → ${o.writer.manifestFile}`);
  return { outDir: o.outDir, manifest: o.writer.manifest(), computed, reused: o.reused, failed, backend: o.backend, steps: o.steps, interrupted: o.interrupted, remaining, problems: o.problems };
}

/** Takes the output folder: creates it, locks it, removes what a killed run left. */
async function openOutput(loaded: LoadedConfig, outDir: string, progress: Progress): Promise<Lock> {
  await prepareOutputDir(loaded, outDir);
  let lock: Lock;
  try {
    lock = await acquireLock(outDir);
  } catch (err) {
    const bad = lockWriteError(outDir, err);
    throw bad ? locate(loaded, new AtlasError(bad.message, { key: 'output', path: ['output'] })) : err;
  }
  if (lock.tookOver) progress.log(`took over the lock of pid ${lock.tookOver.pid} (no longer running)`);
  const cleaned = await cleanTemporaryFiles(outDir);
  if (cleaned) progress.log(`removed ${cleaned} temporary file(s) left by an interrupted run`);
  return lock;
}

async function readPreviousManifest(outDir: string, progress: Progress): Promise<Manifest | undefined> {
  try {
    return await readManifest(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') progress.log(`note: ignoring ${path.join(outDir, MANIFEST_FILE)} (${(err as Error).message.split('\n')[0]}); every unit is recomputed`);
    return undefined;
  }
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
