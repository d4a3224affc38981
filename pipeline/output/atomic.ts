/**
 * Atomic file writes: data goes to a temporary name in the same folder and is renamed into place,
 * so a reader (or a rerun after a crash) sees either the old file or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Temporary files carry this marker: `<name>.tmp-<pid>-<random>`. */
export const TMP_MARKER = '.tmp-';

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}${TMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Removes temporary files left by a killed run below `dir`. Returns how many. */
export async function cleanTemporaryFiles(dir: string): Promise<number> {
  let removed = 0;
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile() && entry.name.includes(TMP_MARKER)) {
      await fs.rm(path.join(entry.parentPath, entry.name), { force: true });
      removed++;
    }
  }
  return removed;
}
