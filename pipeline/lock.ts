/**
 * One run per output folder: `<output>/.atlas.lock` names the holder (pid, host, start time).
 *
 * The lock file is created complete or not at all (written under a temporary name, then hard-linked
 * to the lock name, which fails when it exists), so a reader never sees a half-written lock.
 * A lock whose process is gone (same host, pid not running, or the pid now belongs to a process
 * started later) is stale and taken over. A small own lock rather than `proper-lockfile`: that one
 * decides staleness by mtime age and needs a timer refreshing it during hour-long runs; a pid check
 * is exact on one machine and lets the error name the holder's pid, as the CLI must.
 */
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AtlasError } from './errors.ts';
import { temporaryName } from './output/atomic.ts';

export const LOCK_FILE = '.atlas.lock';

export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** Linux: the process start time in clock ticks since boot (/proc/<pid>/stat field 22), to see through pid reuse. */
  procStart?: string;
  /** Random token: tells this lock from a later one by the same pid. */
  token: string;
}

/** Another live run holds the output folder. */
export class LockHeldError extends Error {
  readonly holder: LockInfo;
  readonly lockFile: string;
  constructor(lockFile: string, holder: LockInfo) {
    super(
      `output folder ${path.dirname(lockFile)} is in use by another run: pid ${holder.pid} on ${holder.host}, since ${holder.started} ` +
        `(lock file ${lockFile}). Wait for it to finish or stop it; a lock left by a process that no longer runs is taken over automatically.`,
    );
    this.name = 'LockHeldError';
    this.holder = holder;
    this.lockFile = lockFile;
  }
}

export interface Lock {
  file: string;
  /** The stale lock this one replaced, if any. */
  tookOver?: LockInfo;
  release(): Promise<void>;
}

const held = new Map<string, LockInfo>();
let exitHook = false;

function procStart(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `info` still runs (always true for another host: it cannot be checked). */
export function holderAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true;
  if (info.pid === process.pid) return [...held.values()].some((h) => h.token === info.token);
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (info.procStart) {
    const now = procStart(info.pid);
    if (now !== undefined && now !== info.procStart) return false; // the pid was reused by a later process
  }
  return true;
}

async function readLock(file: string): Promise<LockInfo | null | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : null;
  } catch {
    return null; // unreadable: not written by a live run of this tool
  }
}

/** Creates `file` holding `text` only if it does not exist; false when it does. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const tmp = temporaryName(file);
  await fs.writeFile(tmp, text);
  try {
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Takes the lock of `dir` (which must exist) or throws LockHeldError naming the holder. */
export async function acquireLock(dir: string): Promise<Lock> {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), procStart: procStart(process.pid), token: randomBytes(8).toString('hex') };
  let tookOver: LockInfo | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(file, JSON.stringify(info))) {
      held.set(file, info);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', releaseAllLocksSync);
      }
      return { file, tookOver, release: () => releaseLock(file, info) };
    }
    const holder = await readLock(file);
    if (holder === undefined) continue; // released in between
    if (holder && holderAlive(holder)) throw new LockHeldError(file, holder);
    // Stale: move it aside (atomic; only one contender wins), then check that what was moved is the
    // stale lock and not a fresh one that replaced it in between.
    const aside = temporaryName(file);
    try {
      await fs.rename(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = await readLock(aside);
    if (moved && holder && moved.token !== holder.token && holderAlive(moved)) {
      await fs.link(aside, file).catch(() => undefined); // put the live lock back unless a third run got in
      await fs.rm(aside, { force: true });
      throw new LockHeldError(file, moved);
    }
    await fs.rm(aside, { force: true });
    tookOver = holder ?? undefined;
  }
  throw new Error(`${file}: could not take the lock after 5 tries (other runs keep replacing it)`);
}

async function releaseLock(file: string, info: LockInfo): Promise<void> {
  if (held.get(file)?.token !== info.token) return;
  held.delete(file);
  const current = await readLock(file).catch(() => undefined);
  if (current && current.token === info.token) await fs.rm(file, { force: true });
}

/** Releases every lock this process holds, synchronously (process exit, second Ctrl-C). */
export function releaseAllLocksSync(): void {
  for (const [file, info] of held) {
    try {
      const current = JSON.parse(fsSync.readFileSync(file, 'utf8')) as LockInfo;
      if (current.token === info.token) fsSync.rmSync(file, { force: true });
    } catch {
      // Gone already, or unreadable: leave it.
    }
  }
  held.clear();
}

/** Maps a failure to create the lock (read-only or full folder…) to a bad-input error. */
export function lockWriteError(dir: string, err: unknown): AtlasError | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EDQUOT'].includes(code)) {
    return new AtlasError(`output: cannot write in ${dir} (${code}); expected a folder this user can write`, { key: 'output' });
  }
  return undefined;
}
