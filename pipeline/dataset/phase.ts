/**
 * The dataset phase of a run (after the render): rank every photo of `dataset.folder` for every
 * configured filter and class (pass.ts), publish thumbnails and patches of the top K, hand the
 * results to the AtlasWriter, write the manifest, then remove published and cached files nothing
 * names any more. Runs on the pipeline's TF.js backend, in the main process.
 */
import { NOTES_AT_224, scaledToImage } from '../render/methods/shaping.ts';
import path from 'node:path';
import pLimit from 'p-limit';
import type { AtlasConfig } from '../config/schema.ts';
import type { GraphNode } from '../engine/graph.ts';
import type { AtlasWriter } from '../output/writer.ts';
import type { Progress } from '../progress.ts';
import { METHODS } from '../render/methods/index.ts';
import type { AtlasContext } from '../run/prepare.ts';
import type { ActivationPlan } from './activations.ts';
import { readAttributions } from './attribution.ts';
import { DatasetCache, modelKey } from './cache.ts';
import { collectExamples, type DatasetResult, type ExampleContext } from './examples.ts';
import { rankPhotos } from './pass.ts';
import type { DatasetInput } from './photos.ts';
import { datasetDir } from './files.ts';
import { publishPhoto, prunePublished } from './publish.ts';
import { Rankings, type LayerRanking } from './rank.ts';
import { receptiveField } from './receptive-field.ts';
import { capsOutput } from '../run/reuse.ts';

export interface DatasetPhase {
  ctx: AtlasContext;
  input: DatasetInput;
  outDir: string;
  writer: AtlasWriter;
  progress: Progress;
  signal?: AbortSignal;
}

/**
 * Per layer, what filters are ranked by: the map the first method's filter objective reads there
 * (`FeatureRead.pre`: the pre-activation, e.g. the lecture's `preActivation: auto` at a ReLU6
 * layer, or the output), so a photo's value is the channel mean the optimized image maximized.
 */
function layerRankings(ctx: AtlasContext, config: AtlasConfig): Map<string, LayerRanking> {
  const method = METHODS[config.render.methods[0]!]!;
  const node = (name: string): GraphNode => ctx.graph.nodes.find((n) => n.name === name)!;
  return new Map(
    ctx.layers.map((l) => {
      const cap = node(l.name).relu?.cap;
      const settings = method.settings(config, 'filter', { size: ctx.size, capped: capsOutput(ctx, l.name) });
      // The objective itself says which map it reads.
      const { read } = method.objective(settings, { kind: 'filter', node: l.name, indices: [0], isLogit: false });
      return [l.name, { pre: read.pre, ...(cap !== undefined ? { cap } : {}), filters: l.filters }];
    }),
  );
}

/** Photos are cropped to the model's input size (not `render.size`, the optimized images' size). */
function inputSize(ctx: AtlasContext): [number, number] {
  const [h, w] = ctx.graph.inputShape;
  return [h || ctx.size[0], w || ctx.size[1]];
}

function exampleContext(o: DatasetPhase, key: string, attributions: ExampleContext['attributions']): ExampleContext {
  const { ctx, input } = o;
  const nodes = ctx.graph.nodes;
  return {
    dir: datasetDir(ctx.loaded.config.model.id, key),
    size: inputSize(ctx),
    publish: input.config.publish,
    patches: input.config.patches,
    geometry: new Map(
      ctx.layers.map((l) => {
        const field = receptiveField(nodes, l.name);
        return [l.name, { ...(field ? { field } : {}), map: [l.outputShape[0]!, l.outputShape[1]!] as [number, number] }];
      }),
    ),
    attributions,
    photos: new Map(input.photos.map((p) => [p.rel, p])),
  };
}

/** Every output-relative file a result names (what pruning keeps). */
function namedFiles(result: DatasetResult): Set<string> {
  const all = [...[...result.filters.values()].flatMap((m) => [...m.values()]), ...result.classes.values()];
  return new Set(all.flatMap((t) => (t.examples ?? []).flatMap((e) => [e.file, ...(e.patch ? [e.patch.file] : [])])));
}

/** Runs the phase; returns the result, or undefined when interrupted (the manifest keeps the previous one). */
export async function runDatasetPhase(o: DatasetPhase): Promise<DatasetResult | undefined> {
  const started = performance.now();
  const { ctx, input, progress } = o;
  const config = ctx.loaded.config;
  const layers = layerRankings(ctx, config);
  const size = inputSize(ctx);
  // Photos enter at the model's input size: the border is the one for that size.
  const border = scaledToImage(config.render.border, NOTES_AT_224.border, size);
  const plan: ActivationPlan = { layers: [...layers.keys()], ...(ctx.classes.length ? { scoreNode: ctx.scoreLayer } : {}), border };
  const key = modelKey({ weightsHash: ctx.weightsHash, pixels: ctx.pixels, size });
  const cache = new DatasetCache(o.outDir, key);
  const rankings = new Rankings(
    layers,
    ctx.classes.map((c) => c.id),
    input.config.topK,
  );
  progress.log(`dataset: ${input.photos.length} photos in ${input.folder}`);
  const counts = await rankPhotos({ graph: ctx.graph, pixels: ctx.pixels, size, plan, cache, rankings, progress, signal: o.signal }, input.photos);
  if (counts.interrupted) return undefined;
  for (const s of counts.skipped) progress.log(`dataset: skipped ${s.file}: ${s.reason}`);
  const attributions = await readAttributions(
    input.folder,
    input.photos.map((p) => p.rel),
    input.config.recursive,
  );
  const reads = Object.fromEntries([...layers].map(([name, r]) => [name, r.pre ? ('pre' as const) : ('output' as const)]));
  const summary = {
    folder: input.config.folder,
    photos: rankings.photos,
    computed: counts.computed,
    cached: counts.cached,
    skipped: counts.skipped,
    topK: input.config.topK,
    published: input.config.publish,
    reads,
  };
  const { result, jobs } = collectExamples(rankings, exampleContext(o, key, attributions), summary);
  const limit = pLimit(2);
  const written = (await Promise.all(jobs.map((job) => limit(() => publishPhoto(o.outDir, job, size))))).reduce((a, b) => a + b, 0);
  o.writer.setDataset(result);
  await o.writer.writeManifest();
  // Only after the manifest stopped naming them.
  const pruned = (await prunePublished(o.outDir, config.model.id, namedFiles(result))) + (await cache.prune());
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const skipped = counts.skipped.length ? `, ${counts.skipped.length} skipped (${counts.skipped.map((s) => s.file).join(', ')})` : '';
  progress.log(
    `dataset: ${rankings.photos} photos ranked (${counts.computed} computed, ${counts.cached} from the cache${skipped}); ${written} files published${pruned ? `, ${pruned} stale removed` : ''}; ${seconds} s → ${path.relative(process.cwd(), o.outDir) || '.'}`,
  );
  return result;
}
