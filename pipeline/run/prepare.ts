/**
 * The first phase of a run: everything is loaded and checked against the config (methods, model,
 * labels, plan, start photos) before the output folder is touched, so bad input exits 2 with
 * nothing written. Errors about a config value carry the config file and line (`locate`).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { LeanGraph } from '../engine/graph.ts';
import { AtlasError, closest } from '../errors.ts';
import { loadLabels, loadModel } from '../model/load.ts';
import { labelsBeside } from '../model/labels.ts';
import { fixedInputSize } from '../engine/lower.ts';
import { resolveModel } from '../model/source.ts';
import { decodeRgb } from '../output/images.ts';
import { BudgetTooSmall, parseBytes, planMedia, type MediaPlan } from '../output/media-plan.ts';
import { planClasses, planLayers, planUnits, type PlannedLayer } from '../plan.ts';
import { unitShape, type ShapeSettings } from './media.ts';
import { METHODS, methodIds } from '../render/methods/index.ts';
import { NOTES_AT_224, scaledToImage } from '../render/methods/shaping.ts';
import { resolvePixels } from '../render/pixel-presets.ts';
import type { PixelSpace } from '../render/pixels.ts';
import { liveUnavailableReason, liveWeightBytes } from '../output/live-graph.ts';

export interface AtlasContext {
  loaded: LoadedConfig;
  graph: LeanGraph;
  pixels: PixelSpace;
  /** The chosen pixel range and why (printed). */
  pixelsNote: string;
  labels: string[];
  layers: PlannedLayer[];
  classes: { id: number; label: string }[];
  /** The node class objectives read: the pre-softmax logit when the model ends in a softmax. */
  scoreLayer: string;
  scoreIsLogit: boolean;
  outputNode: string;
  weightsHash: string;
  modelOrigin: string;
  size: [number, number];
  /** `render.border` for this image size (filter objectives and quality numbers). */
  border: number;
  /** How every unit's files are encoded: the media tier that fits `site.budget` for all planned units. */
  media: MediaPlan;
  /** The only input size the model takes, when it flattens a feature map (lucid's transforms end at it). */
  inputSize?: [number, number];
}

/** Loads everything the render needs and checks the config against the model. Throws AtlasError on bad input. */
export async function prepareAtlas(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<AtlasContext> {
  try {
    checkMethods(loaded);
    const { graph, modelJson, origin, weightsHash, format } = await loadGraph(loaded, env);
    try {
      return await planAtlas(loaded, graph, modelJson, origin, weightsHash, format);
    } catch (err) {
      graph.dispose();
      throw err;
    }
  } catch (err) {
    throw locate(loaded, err);
  }
}

function checkMethods({ config }: LoadedConfig): void {
  for (const [i, m] of config.render.methods.entries()) {
    if (METHODS[m]) continue;
    const suggestion = closest(m, methodIds(), 1)[0];
    throw new AtlasError(`render.methods[${i}]: unknown method "${m}"; expected one of ${methodIds().join(', ')}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
      key: 'render.methods',
      path: ['render', 'methods', i],
    });
  }
}

async function loadGraph({ config, dir }: LoadedConfig, env: NodeJS.ProcessEnv) {
  const resolved = await resolveModel({
    id: config.model.id,
    source: config.model.source,
    baseDir: dir,
    modelsDir: env.ATLAS_MODELS,
    cacheDir: path.join(dir, '.atlas-cache', 'models'),
  });
  const { graph, weightsHash, format } = await loadModel(resolved.modelJson);
  return { graph, modelJson: resolved.modelJson, origin: resolved.origin, weightsHash, format };
}

async function planAtlas(loaded: LoadedConfig, graph: LeanGraph, modelJson: string, modelOrigin: string, weightsHash: string, format: string): Promise<AtlasContext> {
  const { config, dir } = loaded;
  const last = graph.nodes[graph.nodes.length - 1]!;
  const classCount = last.outputShape.reduce<number>((a, b) => a * (b ?? 1), 1);
  const labelsFile = config.model.labels ? path.resolve(dir, config.model.labels) : await labelsBeside(modelJson);
  const labels = labelsFile ? await loadLabels(labelsFile, classCount, config.model.labels ? 'model.labels' : 'model.source') : Array.from({ length: classCount }, (_, i) => `class ${i}`);
  const size = config.render.size ? ([config.render.size, config.render.size] as [number, number]) : ([graph.inputShape[0], graph.inputShape[1]] as [number, number]);
  const { space, note } = resolvePixels(config.model.pixels, graph, format);
  const layers = planLayers(config.layers, graph.nodes);
  const classes = planClasses(
    config.classes,
    labels,
    graph.nodes.find((n) => n.name === graph.outputName),
  );
  const scoreLayer = graph.logitNode ?? last.name;
  const media = planAtlasMedia(loaded, graph, layers, classes, scoreLayer, size);
  const inputSize = fixedInputSize(graph.lowered, graph.inputName, graph.inputShape);
  return {
    loaded,
    graph,
    pixels: space,
    pixelsNote: note,
    labels,
    layers,
    classes,
    scoreLayer,
    scoreIsLogit: graph.logitNode !== undefined,
    outputNode: last.name,
    weightsHash,
    modelOrigin,
    size,
    border: scaledToImage(config.render.border, NOTES_AT_224.border, size),
    media,
    ...(inputSize ? { inputSize } : {}),
  };
}

/**
 * The media tier for every unit the config plans (all shards together): each unit's shape from its
 * method's settings (displayed size, recorded frames). A budget nothing fits is a config error
 * (exit 2, naming the minimum) before anything is rendered.
 */
function planAtlasMedia(loaded: LoadedConfig, graph: LeanGraph, layers: PlannedLayer[], classes: { id: number; label: string }[], scoreLayer: string, size: [number, number]): MediaPlan {
  const { config } = loaded;
  const shapes = planUnits(config.render.methods, layers, classes, scoreLayer).map((u) => {
    const capped = Number.isFinite(graph.nodes.find((n) => n.name === u.target)?.relu?.cap ?? Infinity);
    return unitShape(u.kind, METHODS[u.method]!.settings(config, u.kind, { size, capped }) as unknown as ShapeSettings);
  });
  try {
    // The live page's weights are published once, whatever the tier (none when the model is too large to offer live).
    const live = liveWeightBytes(graph.lowered);
    return planMedia(shapes, parseBytes(config.site.budget)!, config.site.media, liveUnavailableReason(live) ? 0 : live);
  } catch (err) {
    if (err instanceof BudgetTooSmall) throw new AtlasError(`site.budget: ${err.message}`, { key: 'site.budget', path: ['site', 'budget'] });
    throw err;
  }
}

/** A decoded start photo: canonical pixels and a hash of its bytes (part of the cache key of units that use it). */
export interface StartPhoto {
  pixels: Float32Array;
  hash: string;
}

/** Reads a start photo that a method's settings name (relative to the config), resized to the image size. */
async function loadStartPhoto(loaded: LoadedConfig, file: string, size: [number, number], keyPath: string[]): Promise<StartPhoto> {
  const abs = path.resolve(loaded.dir, file);
  const decoded = await decodeRgb(abs, size).catch((err: Error) => {
    throw locate(loaded, new AtlasError(`${keyPath.join('.')}: cannot read image ${abs}: ${err.message}; expected a PNG, JPEG or WebP file`, { key: keyPath.join('.'), path: keyPath }));
  });
  return {
    pixels: Float32Array.from(decoded.rgb, (v) => v / 127.5 - 1),
    hash: createHash('sha256').update(decoded.rgb).digest('hex').slice(0, 16),
  };
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

/** The start photos the methods' settings name, decoded once each (keyed by the path as written). */
export async function loadStartPhotos(ctx: AtlasContext): Promise<Map<string, StartPhoto>> {
  const photos = new Map<string, StartPhoto>();
  const { config } = ctx.loaded;
  for (const id of config.render.methods) {
    for (const kind of ['filter', 'class'] as const) {
      const file = METHODS[id]!.settings(config, kind, { size: ctx.size, capped: false }).photo;
      if (file && !photos.has(file)) photos.set(file, await loadStartPhoto(ctx.loaded, file, ctx.size, ['render', id, 'photo']));
    }
  }
  return photos;
}
