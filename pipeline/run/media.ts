/**
 * Glue between the media plan (output/media-plan.ts) and a run: each planned unit's shape from its
 * settings, which units can be re-encoded from the lossless files on disk when the tier changed
 * (`readFramesZip` reads them), and the published size the run reports.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { UnitKind } from '../output/paths.ts';
import type { ManifestUnit } from '../output/manifest.ts';
import { formatBytes, type MediaPlan, type UnitShape } from '../output/media-plan.ts';
import { displaySize } from '../render/deprocess.ts';

/** The settings every method records that decide a unit's displayed size and recorded frames. */
export interface ShapeSettings {
  steps: number;
  frameEvery: number;
  size: [number, number];
  deprocess: 'lecture' | 'clip';
  crop?: number;
}

/** Frames the render loop records: every `frameEvery` steps from 0, and the final image. */
export function recordedFrames(steps: number, frameEvery: number): number {
  return Math.ceil(steps / frameEvery) + 1;
}

export function unitShape(kind: UnitKind, s: ShapeSettings): UnitShape {
  const [width, height] = displaySize(s.size, { mode: s.deprocess, crop: s.crop ?? 0 });
  return { kind, deprocess: s.deprocess, width, height, frames: recordedFrames(s.steps, s.frameEvery) };
}

/** Whether a listed unit's files hold every recorded frame losslessly (a stored ZIP of PNGs and a PNG), so a new tier can be encoded from them. */
export function losslessOnDisk(u: ManifestUnit): boolean {
  return !!u.files?.zip && u.files.png.endsWith('.png') && (u.media?.zip ?? 'stored') === 'stored';
}

export interface PublishedSize {
  units: number;
  /** Bytes of the units' files by kind of file. */
  byKind: Record<'image' | 'thumb' | 'gif' | 'zip', number>;
  /** Every file under the output folder the site copies (dotfiles skipped): units, sheets, dataset photos. */
  total: number;
}

async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => undefined))?.size ?? 0;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name.startsWith('.') || e.name.includes('.tmp-')) continue;
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await folderSize(p) : e.isFile() ? await sizeOf(p) : 0;
  }
  return total;
}

/** What the units' files and the whole data folder take on disk: what the site publishes besides its pages. */
export async function publishedSize(outDir: string, units: ManifestUnit[]): Promise<PublishedSize> {
  const byKind = { image: 0, thumb: 0, gif: 0, zip: 0 };
  let count = 0;
  for (const u of units) {
    if (!u.files) continue;
    count++;
    byKind.image += await sizeOf(path.join(outDir, u.files.png));
    byKind.thumb += await sizeOf(path.join(outDir, u.files.webp));
    byKind.gif += await sizeOf(path.join(outDir, u.files.gif));
    if (u.files.zip) byKind.zip += await sizeOf(path.join(outDir, u.files.zip));
  }
  return { units: count, byKind, total: await folderSize(outDir) };
}

/** The run's closing size line: per unit by kind, the data folder, and the plan's budget. */
export function sizeReport(size: PublishedSize, plan: MediaPlan): string {
  const per = (b: number) => formatBytes(size.units ? b / size.units : 0);
  const k = size.byKind;
  const unitBytes = k.image + k.thumb + k.gif + k.zip;
  return (
    `published data: ${formatBytes(size.total)} (${size.units} units, ${per(unitBytes)}/unit: image ${per(k.image)}, thumbnail ${per(k.thumb)}, GIF ${per(k.gif)}, frames ZIP ${per(k.zip)}); ` +
    `media tier "${plan.tier.name}" (${plan.profile === 'budget' ? `budget ${formatBytes(plan.budget)}` : `site.media: ${plan.profile}, no budget`}; whole site estimated ${formatBytes(plan.estimate)} with its pages)`
  );
}
