/**
 * Class names, index = class id, from the files models ship with:
 * - a JSON array of names (`labels.json`, this project's format);
 * - a JSON object with a `labels` array (Teachable Machine's `metadata.json` beside its TF.js export);
 * - plain text, one name per line (`labels.txt`), each line optionally led by its index, as
 *   Teachable Machine's Keras export writes it (`0 Goldfish`).
 * Without `model.labels`, the first of LABEL_FILES beside the model file is used.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AtlasError } from '../errors.ts';

/** Looked for beside the model file, in this order. */
export const LABEL_FILES = ['labels.json', 'metadata.json', 'labels.txt'];

/** The names in a labels file's text; throws a message (without the file name) when it holds none in a known form. */
export function parseLabels(text: string, file: string): string[] {
  if (path.extname(file).toLowerCase() === '.txt') return textLabels(text);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`labels file is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const names = Array.isArray(data) ? data : data && typeof data === 'object' && 'labels' in data ? (data as { labels: unknown }).labels : undefined;
  if (!Array.isArray(names) || !names.every((l) => typeof l === 'string')) throw new Error('labels file must be a JSON array of class names (strings), or an object whose "labels" is one');
  return names as string[];
}

/** One name per non-empty line; a leading "<index> " is dropped when every line has its own index, 0, 1, 2, … */
function textLabels(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const indexed = lines.map((l) => /^(\d+)\s+(.+)$/.exec(l));
  if (lines.length && indexed.every((m, i) => m && Number(m[1]) === i)) return indexed.map((m) => m![2]!);
  return lines;
}

/** Reads and checks a labels file: one name per class of the model. Errors name the file and the config key. */
export async function loadLabels(file: string, classCount: number, key = 'model.labels'): Promise<string[]> {
  const where = { file, key, path: key.split('.') };
  const expected = `expected ${classCount} class names: a JSON array, a JSON object with "labels", or a .txt file with one per line`;
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new AtlasError(`${key}: cannot read labels file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${expected}`, where);
  }
  let labels: string[];
  try {
    labels = parseLabels(raw, file);
  } catch (err) {
    throw new AtlasError(`${file}: ${(err as Error).message}; ${expected}`, where);
  }
  if (labels.length !== classCount) {
    throw new AtlasError(`${file}: labels file has ${labels.length} names but the model has ${classCount} classes; expected one name per class (${classCount})`, where);
  }
  return labels;
}

/** The labels file beside a model file, if any: the first of LABEL_FILES that exists (a metadata.json only when it has "labels"). */
export async function labelsBeside(modelFile: string): Promise<string | undefined> {
  for (const name of LABEL_FILES) {
    const file = path.join(path.dirname(modelFile), name);
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    if (name === 'metadata.json' && !hasLabels(text)) continue;
    return file;
  }
  return undefined;
}

function hasLabels(text: string): boolean {
  try {
    const data = JSON.parse(text) as unknown;
    return !!data && typeof data === 'object' && Array.isArray((data as { labels?: unknown }).labels);
  } catch {
    return false;
  }
}
