/**
 * An error caused by the user's input (config, model files, labels, paths): the CLI prints its
 * message alone and exits with code 2. Anything else is a bug or an environment failure.
 */
export class AtlasError extends Error {
  readonly file?: string;
  readonly key?: string;
  readonly line?: number;
  /** Path of the offending value in the config (e.g. ['layers', 'conv1', 2]), to find its line. */
  readonly path?: (string | number)[];

  constructor(message: string, where: { file?: string; key?: string; line?: number; path?: (string | number)[] } = {}) {
    super(message);
    this.name = 'AtlasError';
    this.file = where.file;
    this.key = where.key;
    this.line = where.line;
    this.path = where.path;
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The `count` candidates closest to `name`; `parts` splits a candidate into names that each count (e.g. synonyms). */
export function closest(name: string, candidates: readonly string[], count = 3, parts: (c: string) => string[] = (c) => [c]): string[] {
  const n = name.toLowerCase();
  return [...candidates]
    .map((c) => ({ c, d: Math.min(...parts(c).map((p) => editDistance(n, p.toLowerCase()))) }))
    .sort((x, y) => x.d - y.d)
    .slice(0, count)
    .map((x) => x.c);
}
