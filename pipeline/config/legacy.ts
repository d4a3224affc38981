/**
 * Config keys that moved. Settings that only the lecture method reads used to sit directly under
 * `render` and read as global; they now live under `render.lecture`. Old configs still load: each
 * moved key is mapped to its new place with a one-line notice naming the new key and the line.
 */
import { AtlasError } from '../errors.ts';

type Raw = Record<string, unknown>;

/** Old path → new path, both under the config's root. */
export const MOVED_KEYS: readonly (readonly [string[], string[]])[] = [
  [
    ['render', 'filters', 'objective'],
    ['render', 'lecture', 'filterObjective'],
  ],
  [
    ['render', 'filters'],
    ['render', 'lecture', 'filters'],
  ],
  [
    ['render', 'classes'],
    ['render', 'lecture', 'classes'],
  ],
  [
    ['render', 'crop'],
    ['render', 'lecture', 'crop'],
  ],
  [
    ['render', 'frameEvery'],
    ['render', 'lecture', 'frameEvery'],
  ],
  [
    ['render', 'photo'],
    ['render', 'lecture', 'photo'],
  ],
];

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function parentOf(root: Raw, keyPath: string[], create: boolean): Raw | undefined {
  let node: Raw = root;
  for (const key of keyPath.slice(0, -1)) {
    if (!isObject(node[key])) {
      if (!create || node[key] !== undefined) return undefined;
      node[key] = {};
    }
    node = node[key] as Raw;
  }
  return node;
}

export interface Moved {
  /** One line per moved key. */
  notices: string[];
  /** A key path in the new layout → the path where the file wrote it (for line numbers). */
  writtenAt: (keyPath: PropertyKey[]) => PropertyKey[];
}

/**
 * Moves old keys of `raw` (the parsed YAML, changed in place) to their new place. Returns one notice
 * per moved key; a key given both ways is an error naming both.
 */
export function moveLegacyKeys(raw: unknown, file: string, lineOf: (keyPath: string[]) => number | undefined): Moved {
  const notices: string[] = [];
  const moved: [string[], string[]][] = [];
  const writtenAt = (keyPath: PropertyKey[]): PropertyKey[] => {
    const hit = moved.find(([, to]) => to.every((k, i) => keyPath[i] === k));
    return hit ? [...hit[0], ...keyPath.slice(hit[1].length)] : keyPath;
  };
  if (!isObject(raw)) return { notices, writtenAt };
  for (const [from, to] of MOVED_KEYS) {
    const source = parentOf(raw, from, false);
    const key = from[from.length - 1]!;
    if (!source || !(key in source)) continue;
    const line = lineOf(from);
    const target = parentOf(raw, to, true);
    const newKey = to[to.length - 1]!;
    if (!target || newKey in target) {
      throw new AtlasError(`${file}:${line ?? '?'} ${from.join('.')} and ${to.join('.')} are the same setting; keep only ${to.join('.')}`, { file, key: from.join('.'), line });
    }
    target[newKey] = source[key];
    delete source[key];
    moved.push([from, to]);
    notices.push(`${file}:${line ?? '?'} note: ${from.join('.')} is now ${to.join('.')} (it applies to the lecture method only); the old key still works`);
  }
  return { notices, writtenAt };
}
