/**
 * Photo attributions, read from `SOURCES.md` files (the convention docs/dataset.md documents): any
 * Markdown table in a `SOURCES.md` of the dataset folder or its subfolders whose header has a
 * `file` column (or `image`, `photo`) names its photos; a `licence`/`license` column gives the
 * licence and an `author`, `attribution` or `credit` column the text a CC BY photo must show.
 * A row's file is matched relative to the SOURCES.md's folder, or by its name alone when exactly one
 * photo below that folder has it. Photos without a row simply carry no attribution.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export const SOURCES_FILE = 'SOURCES.md';

export interface Attribution {
  /** Author and credit line as written (e.g. '"Monkey" by samuelrodgers752, https://…'). */
  text?: string;
  license?: string;
}

/** Splits a table row on unescaped `|`, trimming cells and the outer pipes. */
function cells(line: string): string[] {
  const parts = line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/);
  return parts.map((c) => c.trim().replace(/\\\|/g, '|'));
}

const isRule = (line: string) => /^\s*\|?\s*:?-{3,}/.test(line);

interface Columns {
  file: number;
  license: number;
  text: number;
}

function columnsOf(header: string[]): Columns | undefined {
  const find = (re: RegExp) => header.findIndex((h) => re.test(h.toLowerCase()));
  const file = find(/^(file|image|photo)(name)?$/);
  if (file < 0) return undefined;
  return { file, license: find(/licen[cs]e/), text: find(/author|attribution|credit/) };
}

/** The rows of every file table of one SOURCES.md: file as written → attribution. */
export function parseSources(markdown: string): Map<string, Attribution> {
  const rows = new Map<string, Attribution>();
  const lines = markdown.split(/\r?\n/);
  let columns: Columns | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim().startsWith('|')) {
      columns = undefined;
      continue;
    }
    if (isRule(line)) continue;
    if (!columns) {
      // A header is a table line followed by the |---| rule.
      if (isRule(lines[i + 1] ?? '')) columns = columnsOf(cells(line)) ?? { file: -1, license: -1, text: -1 };
      continue;
    }
    const c = cells(line);
    const file = columns.file >= 0 ? c[columns.file]?.replace(/^`|`$/g, '') : undefined;
    if (!file) continue;
    const text = columns.text >= 0 ? c[columns.text] : undefined;
    const license = columns.license >= 0 ? c[columns.license] : undefined;
    rows.set(file, { ...(text ? { text } : {}), ...(license ? { license } : {}) });
  }
  return rows;
}

/**
 * Attributions of the given photos (paths relative to `folder`, '/'-separated), from every
 * SOURCES.md below `folder`. A nearer SOURCES.md wins over one further up.
 */
export async function readAttributions(folder: string, photos: string[], recursive: boolean): Promise<Map<string, Attribution>> {
  const entries = await fs.readdir(folder, { recursive, withFileTypes: true }).catch(() => []);
  const sources = entries
    .filter((e) => e.isFile() && e.name === SOURCES_FILE)
    .map((e) => path.relative(folder, e.parentPath).split(path.sep).join('/'))
    // Deepest last, so that it overwrites.
    .sort((a, b) => depth(a) - depth(b));
  const found = new Map<string, Attribution>();
  for (const dir of sources) {
    const rows = parseSources(await fs.readFile(path.join(folder, dir, SOURCES_FILE), 'utf8'));
    const below = photos.filter((p) => dir === '' || p.startsWith(`${dir}/`));
    const exact = new Set(below);
    const byName = new Map<string, string[]>();
    for (const p of below) byName.set(path.posix.basename(p), [...(byName.get(path.posix.basename(p)) ?? []), p]);
    for (const [file, attribution] of rows) {
      const rel = dir === '' ? file : `${dir}/${file}`;
      const named = byName.get(path.posix.basename(file)) ?? [];
      const match = exact.has(rel) ? rel : named.length === 1 ? named[0] : undefined;
      if (match) found.set(match, attribution);
    }
  }
  return found;
}

const depth = (dir: string) => (dir === '' ? 0 : dir.split('/').length);
