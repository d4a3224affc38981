/** The `merge` command: exit 0 merged; 1 units missing (nothing written) or sheets failed; 2 bad input or mismatched shards; 3 the atlas folder is in use. */
import path from 'node:path';
import { AtlasError } from './errors.ts';
import { LockHeldError } from './lock.ts';
import { mergeShards, MissingUnitsError } from './merge.ts';
import { createProgress } from './progress.ts';

export async function runMerge(dirs: string[], into: string | undefined, allowPartial: boolean, quiet: boolean): Promise<number> {
  if (!into) {
    process.stderr.write("merge: --into DIR is required (the atlas folder to write, e.g. the config's output)\n");
    return 2;
  }
  const progress = createProgress(process.stderr, quiet);
  try {
    const summary = await mergeShards(dirs, path.resolve(into), { allowPartial, progress });
    for (const p of summary.problems) progress.log(`warning: ${p}`);
    return summary.problems.length ? 1 : 0;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    if (err instanceof AtlasError) return 2;
    if (err instanceof LockHeldError) return 3;
    if (err instanceof MissingUnitsError) return 1;
    process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
