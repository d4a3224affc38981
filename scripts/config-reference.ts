/**
 * docs/config.md from the config's zod schema: every key with its type, default and `.describe()`
 * text, one table per block, and the moved (legacy) keys with their new names. Pure: schema in,
 * Markdown out. The schema is read through zod's own JSON Schema export (input side: what a user
 * writes), so a key added anywhere in the schema appears without touching this file.
 */
import { z } from 'zod';

/** The parts of a JSON Schema (draft 2020-12) that zod's export writes for this config. */
interface Json {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Json[];
  oneOf?: Json[];
  items?: Json | false;
  prefixItems?: Json[];
  properties?: Record<string, Json>;
  required?: string[];
  additionalProperties?: Json | boolean;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
}

export interface ReferenceInput {
  schema: z.ZodType;
  /** Old key path → new key path (config/legacy.ts MOVED_KEYS). */
  moved: readonly (readonly [readonly string[], readonly string[]])[];
  /** The default config file's text, shown as the example. */
  example: { file: string; text: string };
}

export interface Reference {
  markdown: string;
  /** Key paths without a description (the generator warns; the page shows "—"). */
  undocumented: string[];
}

/** A value as a YAML reader would write it: `auto`, `1e-6`, `[0.9, 1.1]`, `{}`. */
const yamlish = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(yamlish).join(', ')}]`;
  if (typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3) return v.toExponential();
  return typeof v === 'string' ? v : JSON.stringify(v);
};
const code = (v: unknown) => `\`${yamlish(v)}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
/** GitHub's heading anchor for a heading that is one key path in backticks. */
export const anchorOf = (keyPath: string) => keyPath.toLowerCase().replace(/[^a-z0-9_ -]/g, '');

function bounds(s: Json): string {
  const lo = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined ? `≥ ${s.minimum}` : undefined;
  const hi = s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${s.maximum}` : undefined;
  if (s.minimum !== undefined && hi?.startsWith('≤')) return ` ${s.minimum}–${s.maximum}`;
  return [lo, hi]
    .filter(Boolean)
    .map((b) => ` ${b}`)
    .join(',');
}

const isBlock = (s: Json) => s.type === 'object' && s.properties !== undefined;

/** A key's type in words: `auto` or integer ≥ 0, list of string, [number, number], … */
export function typeOf(s: Json): string {
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.map(typeOf).join(' or ');
  if (s.const !== undefined) return code(s.const);
  if (s.enum) return s.enum.map(code).join(', ');
  if (Array.isArray(s.type)) return s.type.map((type) => typeOf({ ...s, type })).join(' or ');
  switch (s.type) {
    case 'integer':
      return `integer${bounds(s)}`;
    case 'number':
      return `number${bounds(s)}`;
    case 'string':
      return s.format === 'uri' ? 'URL' : 'string';
    case 'boolean':
      return 'boolean';
    case 'array':
      if (s.prefixItems) return `[${s.prefixItems.map(typeOf).join(', ')}]`;
      return `list of ${s.items ? typeOf(s.items) : 'anything'}`;
    case 'object':
      if (isBlock(s)) return 'block';
      if (typeof s.additionalProperties === 'object') return `map: name → ${typeOf(s.additionalProperties)}`;
      return 'object';
    default:
      return 'any';
  }
}

function defaultOf(s: Json, required: boolean): string {
  if (isBlock(s)) return '';
  if (s.default !== undefined) return code(s.default);
  return required ? 'required' : 'unset';
}

interface Section {
  path: string;
  schema: Json;
}

/** Every block (object with keys) below the root, depth first, in schema order. */
function sections(s: Json, path: string, out: Section[]): Section[] {
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    if (!isBlock(child)) continue;
    const p = path ? `${path}.${key}` : key;
    out.push({ path: p, schema: child });
    sections(child, p, out);
  }
  return out;
}

function table(block: Json, path: string, undocumented: string[]): string {
  const rows = Object.entries(block.properties ?? {}).map(([key, s]) => {
    const keyPath = path ? `${path}.${key}` : key;
    if (!s.description) undocumented.push(keyPath);
    const type = isBlock(s) ? `block: [\`${keyPath}\`](#${anchorOf(keyPath)})` : typeOf(s);
    return `| \`${key}\` | ${cell(type)} | ${cell(defaultOf(s, block.required?.includes(key) ?? false))} | ${cell(s.description ?? '—')} |`;
  });
  return ['| key | type | default | what it does |', '|---|---|---|---|', ...rows].join('\n');
}

export function configReference(input: ReferenceInput): Reference {
  const root = z.toJSONSchema(input.schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const undocumented: string[] = [];
  const parts = [
    '# Config reference',
    '',
    "<!-- Generated by `npm run docs` from pipeline/config/schema.ts, model-schema.ts and legacy.ts. Do not edit: change the schema's `.describe()` texts and run `npm run docs`. -->",
    '',
    'Every key of the atlas config (`atlas.config.yaml` by default; `--config FILE` picks another), with its type,',
    'default and what it does. Unknown keys are errors with a "did you mean"; every error names the file, line,',
    'key and value. Relative paths are relative to the config file.',
    '',
    `The default config, \`${input.example.file}\`:`,
    '',
    '```yaml',
    input.example.text.trimEnd(),
    '```',
    '',
    '## Top level',
    '',
    table(root, '', undocumented),
  ];
  for (const section of sections(root, '', [])) {
    parts.push('', `## \`${section.path}\``, '');
    if (section.schema.description) parts.push(section.schema.description, '');
    parts.push(table(section.schema, section.path, undocumented));
  }
  parts.push(
    '',
    '## Moved keys',
    '',
    'Keys that moved still load; each prints a one-line notice naming its new key and its line. Giving a key both ways is an error.',
    '',
    '| old key | new key |',
    '|---|---|',
    ...input.moved.map(([from, to]) => `| \`${from.join('.')}\` | \`${to.join('.')}\` |`),
    '',
  );
  return { markdown: parts.join('\n'), undocumented };
}
