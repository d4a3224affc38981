/**
 * `merge`: the output folders of sharded runs (`shard.ts`) put together into one atlas folder.
 * Every shard must come from the same config, model weights and backend (else exit 2, naming the
 * shard and the difference). Each planned unit is taken by its cache key from a shard that holds it
 * with its files; a unit the atlas folder already holds under the same key is kept, so a rerun of
 * one failed shard plus a new merge repairs the atlas and a second merge changes nothing. Files
 * are copied atomically before the manifest names them; contact sheets are made last.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { AtlasError } from './errors.ts';
import { acquireLock, holderAlive, LOCK_FILE, type LockInfo } from './lock.ts';
import { cleanTemporaryFiles, exists, writeFileAtomic } from './output/atomic.ts';
import { MANIFEST_FILE, readManifest, readManifestIfAny, type Manifest, type ManifestUnit } from './output/manifest.ts';
import { unitKey } from './output/paths.ts';
import { FULL_TIER, TIERS } from './output/media-plan.ts';
import { sheetPlan, writeSheets, listedSheets } from './output/sheets.ts';
import { planUnits } from './plan.ts';
import type { Progress } from './progress.ts';
import { readShardInfo, type ShardInfo } from './shard.ts';

/** Units no shard holds: the atlas is incomplete (exit 1 unless --allow-partial). */
export class MissingUnitsError extends Error {}

export interface MergeSummary {
  units: number;
  /** Units whose files were copied in; the rest were already there. */
  copied: number;
  missing: string[];
  problems: string[];
  manifestFile: string;
}

interface ShardFolder {
  dir: string;
  info: ShardInfo;
  manifest: Manifest;
}

async function readShard(dir: string): Promise<ShardFolder> {
  const info = await readShardInfo(dir);
  const manifest = await readManifest(dir).catch((err: Error) => {
    throw new AtlasError(`${dir}: cannot read its ${MANIFEST_FILE} (${err.message.split('\n')[0]}); rerun that shard`);
  });
  return { dir, info, manifest };
}

/** A note for a shard whose run may still be going: its unfinished units are missing from this merge. */
async function noteRunning(s: ShardFolder, log: (line: string) => void): Promise<void> {
  const info = await fs
    .readFile(path.join(s.dir, LOCK_FILE), 'utf8')
    .then((t) => JSON.parse(t) as LockInfo)
    .catch(() => undefined);
  if (info && holderAlive(info)) log(`note: shard ${s.dir} is locked by pid ${info.pid} on ${info.host} (still rendering, or its machine died): its unfinished units count as missing`);
}

/** Same config, weights and backend in every shard, or an AtlasError naming the first that differs. */
function checkSameAtlas(shards: ShardFolder[]): void {
  const [first, ...rest] = shards as [ShardFolder, ...ShardFolder[]];
  const fields: [keyof ShardInfo, string, string][] = [
    ['configHash', 'config hash', 'the config changed between the runs'],
    ['weightsHash', 'model weights hash', 'another model or other weights'],
    ['backend', 'backend', 'pixels differ between backends; run every shard with the same --backend'],
  ];
  for (const s of rest) {
    for (const [key, name, why] of fields) {
      if (s.info[key] !== first.info[key]) throw new AtlasError(`shard ${s.dir}: ${name} ${s.info[key]} differs from ${first.dir}'s ${first.info[key]} (${why})`);
    }
  }
}

/** Every unit the config plans, in its order, from a shard's manifest (which lists every layer and class). */
function plannedKeys(m: Manifest): { key: string; label: string; kind: ManifestUnit['kind']; method: string; layer: string; index: number }[] {
  return planUnits(
    m.methods.map((x) => x.id),
    m.layers,
    m.classes,
    m.model.scoreLayer,
  ).map((u) => ({ key: unitKey(u), label: u.label, kind: u.kind, method: u.method, layer: u.target, index: u.index }));
}

async function filesExist(dir: string, u: ManifestUnit): Promise<boolean> {
  if (u.status !== 'ok' || !u.files) return false;
  for (const f of Object.values(u.files)) if (f !== undefined && !(await exists(path.join(dir, f)))) return false;
  return true;
}

/** Per planned key, where its unit comes from: the atlas folder itself, a shard, or nowhere. */
async function chooseUnits(shards: ShardFolder[], into: string, current: Manifest | undefined) {
  const planned = plannedKeys(shards[0]!.manifest);
  const have = new Map((current?.units ?? []).map((u) => [u.key, u]));
  const offers = new Map<string, { dir: string; unit: ManifestUnit }[]>();
  for (const s of shards) for (const u of s.manifest.units) offers.set(u.key, [...(offers.get(u.key) ?? []), { dir: s.dir, unit: u }]);
  const chosen: { dir: string; unit: ManifestUnit }[] = [];
  const missing: typeof planned = [];
  for (const p of planned) {
    let found: { dir: string; unit: ManifestUnit } | undefined;
    for (const o of offers.get(p.key) ?? []) if (!found && (await filesExist(o.dir, o.unit))) found = o;
    const old = have.get(p.key);
    if (found && old && old.cacheKey === found.unit.cacheKey && (await filesExist(into, old))) found = { dir: into, unit: old };
    if (found) chosen.push(found);
    else missing.push(p);
  }
  return { planned, chosen, missing, failed: (key: string) => offers.get(key)?.find((o) => o.unit.status === 'failed')?.unit };
}

/** A missing unit, marked: a shard's failed entry when one has it, else an entry saying no shard did. */
function missingEntry(p: ReturnType<typeof plannedKeys>[number], failed: ManifestUnit | undefined, backend: string): ManifestUnit {
  if (failed) return failed;
  const error = 'missing: no merged shard holds it (rerun its shard and merge again)';
  const blank = { width: 0, height: 0, frames: 0, curve: [], startObjective: NaN, finalObjective: NaN, seed: 0, settings: {} as ManifestUnit['settings'], backend, seconds: 0, cacheKey: '' };
  return { key: p.key, kind: p.kind, method: p.method, layer: p.layer, index: p.index, label: p.label, status: 'failed', error, flags: [], ...blank };
}

async function copyUnit(from: string, into: string, u: ManifestUnit): Promise<void> {
  await Promise.all(Object.values(u.files ?? {}).map(async (f) => f && writeFileAtomic(path.join(into, f), await fs.readFile(path.join(from, f)))));
}

/** ` (no folder given for shard 1/3, 2/3)` when the shards given are not all of one split. */
function absentShards(shards: ShardFolder[]): string {
  const count = shards[0]!.info.count;
  if (shards.some((s) => s.info.count !== count)) return '';
  const absent = Array.from({ length: count }, (_, i) => i).filter((i) => !shards.some((s) => s.info.index === i));
  return absent.length ? ` (no folder given for shard ${absent.map((i) => `${i}/${count}`).join(', ')})` : '';
}

const body = (m: Manifest | undefined) => JSON.stringify({ ...m, generatedAt: undefined });

async function writeManifest(into: string, m: Manifest, current: Manifest | undefined): Promise<void> {
  if (body(m) !== body(current)) await writeFileAtomic(path.join(into, MANIFEST_FILE), JSON.stringify(m, null, 1));
}

export async function mergeShards(dirs: string[], into: string, o: { allowPartial: boolean; progress: Progress }): Promise<MergeSummary> {
  if (!dirs.length) throw new AtlasError('merge: no shard folders given; expected merge <shard folder>... --into DIR');
  const resolved = dirs.map((d) => path.resolve(d));
  if (resolved.includes(into)) throw new AtlasError(`merge: --into ${into} is one of the shard folders; expected a folder of its own`);
  const shards = await Promise.all(resolved.map(readShard));
  checkSameAtlas(shards);
  for (const s of shards) await noteRunning(s, (line) => o.progress.log(line));
  await fs.mkdir(into, { recursive: true });
  const lock = await acquireLock(into);
  try {
    await cleanTemporaryFiles(into);
    const current = await readManifestIfAny(into);
    const { planned, chosen, missing, failed } = await chooseUnits(shards, into, current);
    const names = missing.map((p) => p.key);
    if (missing.length && !o.allowPartial)
      throw new MissingUnitsError(
        `${missing.length} of ${planned.length} units are in no shard: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}${absentShards(shards)}; rerun their shards, or merge with --allow-partial`,
      );
    const base = shards[0]!.manifest;
    const keep = new Set(chosen.filter((c) => c.dir === into).map((c) => c.unit.key));
    // Units about to be replaced stop being listed before their files change.
    if (current) await writeManifest(into, { ...current, units: current.units.filter((u) => keep.has(u.key)) }, current);
    const copies = chosen.filter((c) => c.dir !== into);
    const limit = pLimit(8);
    await Promise.all(copies.map((c) => limit(() => copyUnit(c.dir, into, c.unit))));
    const byKey = new Map(chosen.map((c) => [c.unit.key, c.unit]));
    const units = planned.map((p) => byKey.get(p.key) ?? missingEntry(p, failed(p.key), base.backend.name));
    // Every shard planned the same media tier (the config's, for all units): the sheets follow it.
    const tierName = units.find((u) => u.media)?.media?.tier ?? 'full';
    const tier = TIERS.find((t) => t.name === tierName) ?? FULL_TIER;
    const plan = sheetPlan(
      base.model.id,
      base.methods.map((m) => m.id),
      base.layers,
      tier.sheet.format,
    );
    const sheets = await listedSheets(into, plan, current);
    const problems = await writeSheets(base.model.id, plan, into, sheets, tier);
    const layers = base.layers.map((l) => ({
      ...l,
      sheets: Object.fromEntries(base.methods.map((m) => [m.id, plan.filter((p) => p.method === m.id && p.layer.name === l.name && sheets.has(p.file)).map((p) => ({ file: p.file, filters: p.filters }))])),
    }));
    const merged: Manifest = { ...base, generatedAt: new Date().toISOString(), layers, units };
    await writeManifest(into, merged, (await readManifestIfAny(into)) ?? current);
    for (const p of names) o.progress.log(`missing: ${p}`);
    o.progress.log(`merged ${shards.length} shard(s): ${planned.length - missing.length} of ${planned.length} units, ${copies.length} copied → ${path.join(into, MANIFEST_FILE)}`);
    return { units: planned.length, copied: copies.length, missing: names, problems, manifestFile: path.join(into, MANIFEST_FILE) };
  } finally {
    await lock.release();
  }
}
