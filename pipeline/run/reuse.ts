/**
 * Which units a run must compute: each planned unit gets its method's settings, its seed and a
 * cache key; a unit whose previous manifest entry has the same key and whose files exist is reused.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { exists } from '../output/atomic.ts';
import type { Manifest, ManifestUnit } from '../output/manifest.ts';
import { unitKey } from '../output/paths.ts';
import { planUnits, type PlannedUnit } from '../plan.ts';
import { flat } from '../render/flags.ts';
import type { MethodSettings } from '../render/method.ts';
import { METHODS } from '../render/methods/index.ts';
import { unitSeed } from '../render/seed.ts';
import { losslessOnDisk } from './media.ts';
import type { AtlasContext, StartPhoto } from './prepare.ts';
import type { ShardSelection } from './scale.ts';

/** Cache keys hash this version: bump it only when every existing unit must be recomputed. */
const CACHE_KEY_VERSION = 1;

export type TodoUnit = PlannedUnit & { seed: number; settings: MethodSettings; cacheKey: string };

interface Reuse {
  planned: PlannedUnit[];
  /** Valid entries of the previous manifest, by unit key (under --force, until recomputed). */
  units: Map<string, ManifestUnit>;
  todo: TodoUnit[];
  reused: number;
  /** Listed units whose files were encoded under another media tier, re-encoded from their lossless frames on disk (not re-rendered). */
  reencode: ManifestUnit[];
}

/**
 * Everything that determines a unit's pixels (PNG, thumbnail and GIF), and nothing else: the
 * method's shaping settings, so that a changed setting recomputes only the units it affects. The
 * batch size does not (each image's gradient is its own), nor does the label.
 */
function cacheKeyOf(ctx: AtlasContext, unit: PlannedUnit, settings: MethodSettings, seed: number, backend: string, photo: StartPhoto | undefined): string {
  const shaping = METHODS[unit.method]!.shaping(settings, unit.kind);
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: CACHE_KEY_VERSION,
      weights: ctx.weightsHash,
      pixels: ctx.pixels,
      unit: unitKey(unit),
      target: unit.target,
      settings: shaping,
      // The photo's pixels, for units whose settings start from it.
      photoHash: settings.photo ? (photo?.hash ?? null) : null,
      seed,
      // Each backend computes its own float rounding: a unit made on another backend is made again.
      backend,
      gifFrameMs: ctx.loaded.config.render.gifFrameMs,
    }),
  );
  return h.digest('hex').slice(0, 32);
}

/**
 * An entry made before a unit that cannot move stopped stepping (`render/movable.ts`): a filter whose
 * objective never changed but that is not flagged dead was stepped on float noise, and its frames show
 * that noise. It is rendered again under the same cache key (its settings did not change; live units'
 * pixels did not either, so no key changes).
 */
function steppedOnNoise(u: ManifestUnit): boolean {
  return u.kind === 'filter' && u.status === 'ok' && !u.flags.includes('dead') && flat(u.curve);
}

async function filesExist(outDir: string, files: Record<string, string | undefined>): Promise<boolean> {
  for (const f of Object.values(files)) if (f !== undefined && !(await exists(path.join(outDir, f)))) return false;
  return true;
}

/** Whether a target node caps its output (ReLU6 or another clip), where a plain objective stalls. */
export function capsOutput(ctx: AtlasContext, node: string): boolean {
  const cap = ctx.graph.nodes.find((n) => n.name === node)?.relu?.cap;
  return cap !== undefined && Number.isFinite(cap);
}

export async function planReuse(
  ctx: AtlasContext,
  o: { outDir: string; previous: Manifest | undefined; backend: string; force: boolean; photos: Map<string, StartPhoto>; only?: ShardSelection },
): Promise<Reuse> {
  const { config } = ctx.loaded;
  const previousUnits = new Map((o.previous?.units ?? []).map((u) => [u.key, u]));
  const all = planUnits(config.render.methods, ctx.layers, ctx.classes, ctx.scoreLayer);
  const planned = o.only ? o.only.units(all) : all;
  const units = new Map<string, ManifestUnit>();
  const todo: TodoUnit[] = [];
  let reused = 0;
  const reencode: ManifestUnit[] = [];
  const tier = ctx.media.tier.name;
  for (const u of planned) {
    const key = unitKey(u);
    const settings = METHODS[u.method]!.settings(config, u.kind, { size: ctx.size, capped: capsOutput(ctx, u.target) });
    const seed = unitSeed(config.render.seed, key);
    const cacheKey = cacheKeyOf(ctx, u, settings, seed, o.backend, settings.photo ? o.photos.get(settings.photo) : undefined);
    const old = previousUnits.get(key);
    const same = old !== undefined && old.cacheKey === cacheKey && old.status === 'ok' && !steppedOnNoise(old) && old.files !== undefined && (await filesExist(o.outDir, old.files));
    // Media settings are not in the cache key: a unit encoded under another tier is re-encoded from
    // its lossless frames when they are on disk, else rendered again (same key, same pixels).
    const otherTier = same && (old.media?.tier ?? 'full') !== tier;
    const valid = same && (!otherTier || losslessOnDisk(old));
    // A valid entry stays listed (under --force until its unit is recomputed); labels may have changed.
    if (valid) units.set(key, { ...old, label: u.label });
    if (valid && !o.force) {
      reused++;
      if (otherTier) reencode.push({ ...old, label: u.label });
    } else todo.push({ ...u, seed, settings, cacheKey });
  }
  return { planned, units, todo, reused, reencode };
}
