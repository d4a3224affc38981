/**
 * A ZIP of stored (uncompressed) entries with fixed timestamps, through fflate: the same entries
 * give the same bytes. For numbered frames, which are PNG (already compressed). Browser-safe: the
 * pipeline's frames ZIP and the page script that zips a GIF's frames both use it.
 */
import { zipSync, type Zippable } from 'fflate';

/** A fixed modification time (DOS time has no time zone; local components keep it stable). */
const MTIME = new Date(2000, 0, 1, 0, 0, 0);

export function storedZip(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const files: Zippable = {};
  for (const { name, data } of entries) files[name] = [data, { level: 0, mtime: MTIME }];
  return zipSync(files, { level: 0, mtime: MTIME });
}
