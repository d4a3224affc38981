/**
 * Contact sheets: 8×8 tiles of a layer's filter images per method, made after the units. A sheet is
 * rewritten only when missing, when it showed other filters, or when one of its tiles is newer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PlannedLayer } from '../plan.ts';
import { exists, writeFileAtomic } from './atomic.ts';
import { contactSheet, decodeRgb, encodeJpeg, encodePng } from './images.ts';
import type { Manifest } from './manifest.ts';
import type { MediaTier } from './media-plan.ts';
import { sheetFile, unitFiles } from './paths.ts';

export const SHEET_TILES = 64;

export interface PlannedSheet {
  file: string;
  method: string;
  layer: PlannedLayer;
  filters: number[];
}

/** Every contact sheet of an atlas: file, method, layer and the filters it shows. */
export function sheetPlan(modelId: string, methods: string[], layers: PlannedLayer[], format: 'png' | 'jpeg' = 'png'): PlannedSheet[] {
  const out: PlannedSheet[] = [];
  for (const method of methods) {
    for (const layer of layers) {
      for (let s = 0; s * SHEET_TILES < layer.filters.length; s++) {
        out.push({ file: sheetFile(modelId, method, layer.name, s, format), method, layer, filters: layer.filters.slice(s * SHEET_TILES, (s + 1) * SHEET_TILES) });
      }
    }
  }
  return out;
}

async function isStale(outDir: string, sheet: string, tiles: string[], listed: boolean): Promise<boolean> {
  const sheetStat = await fs.stat(path.join(outDir, sheet)).catch(() => undefined);
  if (!listed || !sheetStat) return true;
  for (const t of tiles) {
    const st = await fs.stat(t).catch(() => undefined);
    if (st && st.mtimeMs > sheetStat.mtimeMs) return true;
  }
  return false;
}

/** Writes one sheet from its tiles' images (reduced to the sheet's tile size for a JPEG sheet); false when no tile exists yet. */
async function writeSheet(outDir: string, file: string, tileFiles: string[], enc: MediaTier['sheet']): Promise<boolean> {
  let width = 0;
  let height = 0;
  const tiles = await Promise.all(
    tileFiles.map(async (t) => {
      const img = await decodeRgb(t, enc.format === 'jpeg' ? [enc.tile, enc.tile] : undefined).catch(() => undefined);
      if (img) [width, height] = [img.width, img.height];
      return img;
    }),
  );
  if (!width) return false;
  const sheet = contactSheet(
    tiles.map((t) => (t && t.width === width && t.height === height ? t.rgb : undefined)),
    width,
    height,
  );
  await writeFileAtomic(path.join(outDir, file), await (enc.format === 'png' ? encodePng(sheet.rgb, sheet.width, sheet.height) : encodeJpeg(sheet.rgb, sheet.width, sheet.height, enc.quality)));
  return true;
}

/**
 * Writes the sheets that are missing or stale (not in `sheets`, which holds the ones the previous
 * manifest listed for the same filters); keeps `sheets` to the files that exist. Returns problems.
 */
export async function writeSheets(modelId: string, plan: PlannedSheet[], outDir: string, sheets: Set<string>, tier?: Pick<MediaTier, 'image' | 'sheet'>): Promise<string[]> {
  const problems: string[] = [];
  const enc = tier?.sheet ?? { format: 'png' as const };
  for (const { file, method, layer, filters } of plan) {
    try {
      const tileFiles = filters.map((f) => path.join(outDir, unitFiles(modelId, { kind: 'filter', method, layer: layer.name, index: f }, tier?.image.format).png));
      // A sheet of the other format (an earlier media tier) would still be published: removed.
      await fs.rm(
        path.join(
          outDir,
          file.replace(/\.(png|jpg)$/, (ext) => (ext === '.png' ? '.jpg' : '.png')),
        ),
        { force: true },
      );
      if (!(await isStale(outDir, file, tileFiles, sheets.has(file)))) continue;
      if (await writeSheet(outDir, file, tileFiles, enc)) sheets.add(file);
      else sheets.delete(file);
    } catch (err) {
      sheets.delete(file);
      problems.push(`contact sheet ${file}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Sheets the manifest may name: existing files the previous manifest listed for the same filters. */
export async function listedSheets(outDir: string, plan: PlannedSheet[], previous: Manifest | undefined): Promise<Set<string>> {
  const sheets = new Set<string>();
  const before = new Map((previous?.layers ?? []).flatMap((l) => Object.values(l.sheets ?? {}).flat()).map((e) => [e.file, e.filters]));
  for (const { file, filters } of plan) {
    const old = before.get(file);
    const same = !!old && old.length === filters.length && old.every((v, i) => v === filters[i]);
    if (same && (await exists(path.join(outDir, file)))) sheets.add(file);
  }
  return sheets;
}
