/**
 * The manifest: the one contract between the pipeline and the site. The pipeline writes
 * `<output>/manifest.json`; the site (through its content loader, src/content.config.ts), bench and
 * tests read it with `readManifest` only. Its schema is `manifest-schema.ts`; paths in it are
 * relative to the output folder. Bump `schemaVersion` on any change an older site could misread.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { manifestSchema, type Manifest } from './manifest-schema.ts';

export type {
  ClassQualityEntry,
  DatasetExample,
  DatasetQualityEntry,
  DatasetSummary,
  FilterQualityEntry,
  LiveFiles,
  LectureSettingsEntry,
  LucidSettingsEntry,
  Manifest,
  ManifestClass,
  ManifestLayer,
  ManifestMethod,
  ManifestModelLayer,
  ManifestUnit,
  UnitSettings,
} from './manifest-schema.ts';
export { classQualityOf, filterQualityOf, manifestSchema } from './manifest-schema.ts';

export const SCHEMA_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** A JSON path as people write it: `units[3].settings.steps`. */
export function jsonPath(keys: readonly PropertyKey[]): string {
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(top level)';
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && 'note' in issue && typeof issue.note === 'string' && issue.note) return `${issue.message} (${issue.note})`;
  return issue.message;
}

/** Validates a parsed manifest; the error names the file, the JSON path of the first problems and what was expected. */
export function parseManifest(data: unknown, file: string): Manifest {
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== SCHEMA_VERSION) {
    throw new Error(`${file}: manifest schemaVersion ${JSON.stringify(version)}, this build reads ${SCHEMA_VERSION}; rerun the pipeline`);
  }
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues;
    const lines = issues.slice(0, 5).map((i) => `  ${jsonPath(i.path)}: ${describe(i)}`);
    if (issues.length > 5) lines.push(`  … and ${issues.length - 5} more`);
    throw new Error(`${file}: not a valid Filter Atlas manifest:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The manifest of an output folder, validated (throws with the file and JSON path of what is wrong). */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const text = await fs.readFile(file, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  return parseManifest(data, file);
}

/** The manifest, or undefined when the folder has none or it does not load. */
export async function readManifestIfAny(dir: string): Promise<Manifest | undefined> {
  try {
    return await readManifest(dir);
  } catch {
    return undefined;
  }
}
