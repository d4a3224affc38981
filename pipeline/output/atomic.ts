/**
 * Atomic file writes: data goes to a temporary name in the same folder, is flushed to disk and
 * renamed into place, so a reader (or a rerun after a crash) sees either the old file or the
 * complete new one, never a truncated file under a real name.
 *
 * Temporary names are `<name>.tmp-<pid>-<8 hex>`; `cleanTemporaryFiles` removes exactly that
 * pattern (a run killed mid-write leaves them), and `removeInFlightTemporariesSync` removes the
 * ones this process is writing right now (for an immediate exit on a second Ctrl-C).
 */
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Temporary files carry this marker: `<name>.tmp-<pid>-<random>`. */
export const TMP_MARKER = '.tmp-';

/** Whether a path exists (any kind of entry). */
export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
const TMP_PATTERN = /\.tmp-\d+-[0-9a-f]{8}$/;

/** Temporary files this process has created and not yet renamed or removed. */
const inFlight = new Set<string>();

export function temporaryName(file: string): string {
  return `${file}${TMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function isTemporaryName(name: string): boolean {
  return TMP_PATTERN.test(name);
}

export interface WriteOptions {
  /** fsync the data before the rename (default true): the new name never points at unflushed data. */
  durable?: boolean;
}

export async function writeFileAtomic(file: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = temporaryName(file);
  inFlight.add(tmp);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
}

/**
 * Removes temporary files left by a killed run below `dir` (only names matching the pattern above,
 * so an output folder shared with other files is safe). Call it while holding the folder's lock:
 * a running writer's temporaries look the same. Returns how many were removed.
 */
export async function cleanTemporaryFiles(dir: string): Promise<number> {
  let removed = 0;
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile() && isTemporaryName(entry.name)) {
      await fs.rm(path.join(entry.parentPath, entry.name), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Synchronously removes this process's in-flight temporaries (before an immediate exit). */
export function removeInFlightTemporariesSync(): void {
  for (const tmp of inFlight) {
    try {
      fsSync.rmSync(tmp, { force: true });
    } catch {
      // Best effort: the next run cleans what is left.
    }
  }
  inFlight.clear();
}
