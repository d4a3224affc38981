/**
 * Reads atlas.config.yaml: YAML with line numbers, validated by the zod schema; every error names
 * the file, the key, the line and what was expected.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { AtlasError, closest } from '../errors.ts';
import { moveLegacyKeys } from './legacy.ts';
import { configSchema, type AtlasConfig } from './schema.ts';

export interface LoadedConfig {
  config: AtlasConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Folder relative paths in the config are resolved against. */
  dir: string;
  /** Line of the value at a key path (e.g. ['layers', 'conv1']), or of its closest parent. */
  lineOf: (keyPath: (string | number)[]) => number | undefined;
  /** One line per old key that was mapped to its new name (see config/legacy.ts). */
  notices: string[];
}

/** Known keys of the object schema at `keyPath` (for "did you mean"). */
function knownKeys(keyPath: PropertyKey[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let node: any = configSchema;
  const unwrap = () => {
    while (node?._zod?.def && ['default', 'prefault', 'optional', 'nullable'].includes(node._zod.def.type)) node = node._zod.def.innerType;
  };
  unwrap();
  for (const key of keyPath) {
    if (node?._zod?.def?.type !== 'object') return [];
    node = node._zod.def.shape[key as string];
    unwrap();
  }
  return node?._zod?.def?.type === 'object' ? Object.keys(node._zod.def.shape) : [];
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_union':
      return 'not one of the accepted forms';
    case 'invalid_format':
      if (issue.format === 'url') return 'expected an http(s) URL such as https://user.github.io';
      return /^invalid/i.test(issue.message) ? `expected a valid ${issue.format}` : `expected ${issue.message}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

export function parseConfig(text: string, file: string): AtlasConfig {
  return parseConfigWithLines(text, file).config;
}

export function parseConfigWithLines(text: string, file: string): Pick<LoadedConfig, 'config' | 'lineOf' | 'notices'> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new AtlasError(`${file}:${pos ? `${pos.line}:${pos.col}` : ''} YAML syntax error: ${e.message.split('\n')[0]}`, { file, line: pos?.line });
  }
  const raw = doc.toJS() ?? {};
  const lineOf = (keyPath: PropertyKey[]): number | undefined => {
    for (let n = keyPath.length; n >= 0; n--) {
      const node = doc.getIn(keyPath.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const keyLine = (parent: PropertyKey[], key: string): number | undefined => {
    const map = parent.length ? doc.getIn(parent as unknown[], true) : doc.contents;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const pair = (map as any)?.items?.find((p: any) => p?.key?.value === key);
    return pair?.key?.range ? lineCounter.linePos(pair.key.range[0]).line : lineOf(parent);
  };
  const { notices, writtenAt } = moveLegacyKeys(raw, file, lineOf);
  const lineIn = (keyPath: PropertyKey[]) => lineOf(writtenAt(keyPath));
  const result = configSchema.safeParse(raw);
  if (result.success) return { config: result.data, lineOf: lineIn, notices };
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const where = [...issue.path, key].join('.');
    const line = keyLine(writtenAt(issue.path), key);
    const suggestion = closest(key, knownKeys(issue.path), 1)[0];
    throw new AtlasError(`${file}:${line ?? '?'} unknown key "${where}"${suggestion ? ` (did you mean "${[...issue.path, suggestion].join('.')}"?)` : ''}`, {
      file,
      key: where,
      line,
    });
  }
  const where = issue.path.join('.') || '(top level)';
  const line = lineIn(issue.path);
  const value = issue.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  throw new AtlasError(`${file}:${line ?? '?'} ${where}: ${describe(issue)} (got ${shown})`, { file, key: where, line });
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (err) {
    throw new AtlasError(`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected an atlas config YAML file (--config FILE)`, { file });
  }
  const { config, lineOf, notices } = parseConfigWithLines(text, abs);
  return { config, file: abs, dir: path.dirname(abs), lineOf, notices };
}
