/**
 * Tables of docs/performance.md rendered from the bench's own JSON lines under bench/results/.
 * A page marks each table with the kind of rows and the results file:
 *
 *   <!-- bench-table: steps 2026-12-07-cpu-steps.jsonl -->
 *   (rendered here)
 *   <!-- /bench-table -->
 *
 * and `renderBenchTables` replaces what lies between the markers, with a line naming the date, the
 * machine and the command from the file's `meta` row (bench/meta.ts). Pure: text and rows in, text out.
 */
import fs from 'node:fs';
import path from 'node:path';

type Row = Record<string, unknown>;

export interface ResultsFile {
  /** File name inside bench/results/. */
  name: string;
  meta?: Row;
  rows: Row[];
}

/** Every `*.jsonl` file of the folder, in name order; blank lines skipped, a bad line names its file and line. */
export function readResults(dir: string): ResultsFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((name) => {
      const rows = fs
        .readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .flatMap((line, i) => {
          if (!line.trim()) return [];
          try {
            return [JSON.parse(line) as Row];
          } catch {
            throw new Error(`bench/results/${name}:${i + 1} is not a JSON line`);
          }
        });
      return { name, meta: rows.find((r) => r.kind === 'meta'), rows: rows.filter((r) => r.kind !== 'meta') };
    });
}

const s = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean));
const md = (header: string[], rows: string[][]) => [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Rows of one kind grouped by the given keys, in first-seen order. */
function groups(rows: Row[], keys: string[]): Row[][] {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const k = keys.map((key) => s(r[key])).join('\u0000');
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  return [...out.values()];
}

/** "3/4", or "3" where the row does not say out of how many. */
const outOf = (n: unknown, of: unknown) => (of === undefined ? s(n) : `${s(n)}/${s(of)}`);

const joined = (rows: Row[], key: string) => rows.map((r) => s(r[key])).join(' / ');

/** One table per kind of row the bench prints. */
const TABLES: Record<string, (rows: Row[]) => string> = {
  steps: (rows) =>
    md(
      ['backend', 'model', 'up to layer', 'size', 'steps/call', 'batch', 'ms/step', 'unit-steps/s'],
      groups(
        rows.filter((r) => r.kind === 'step'),
        ['backend', 'model', 'layer', 'size', 'stepsPerCall'],
      ).map((g) => [s(g[0]!.backend), s(g[0]!.model), `\`${s(g[0]!.layer)}\``, s(g[0]!.size), s(g[0]!.stepsPerCall ?? 1), joined(g, 'batch'), joined(g, 'msPerStep'), joined(g, 'unitStepsPerSec')]),
    ),
  'lucid-job': (rows) =>
    md(
      ['checkout', 'workers', 'round', 'wall s', 'CPU s', 'filter batch s', 'class batch s', 'classes top-1', 'copies top-1', 'filters strictly top', 'mean z'],
      rows
        .filter((r) => r.kind === 'lucid-job')
        .map((r) => [
          `${s(r.tree)} (${s(r.commit)})`,
          s(r.workers),
          s(r.round),
          s(r.wallS),
          s(r.cpuS),
          s(r.filterBatchS),
          s(r.classBatchS),
          outOf(r.classesTop1, r.classes),
          s(r.classCopiesTop1),
          outOf(r.filtersStrictlyTop, r.filters),
          s(r.filtersMeanZ),
        ]),
    ),
  lucid: (rows) =>
    md(
      ['backend', 'model', 'target', 'size', 'batch', 'lucid ms per unit-step', 'lecture ms per unit-step', 'lucid ÷ lecture'],
      rows.filter((r) => r.kind === 'lucid-step').map((r) => [s(r.backend), s(r.model), s(r.layer), s(r.size), s(r.batch), s(r.lucidMsPerUnitStep), s(r.lectureMsPerUnitStep), s(r.ratio)]),
    ),
  e2e: (rows) =>
    md(
      ['backend', 'model', 'units × steps', 'media', 'workers', 'seconds', 'units/min', 'cores busy'],
      rows.filter((r) => r.kind === 'e2e').map((r) => [s(r.backend), s(r.model), `${s(r.units)} × ${s(r.steps)}`, s(r.media), s(r.workers), s(r.seconds), s(r.unitsPerMinute), s(r.coresBusy)]),
    ),
  projection: (rows) =>
    md(
      ['backend', 'job', 'best batch', 'hours'],
      rows.filter((r) => r.kind === 'projection').map((r) => [s(r.backend), `${s(r.units)} filters × ${s(r.steps)} steps of ${s(r.model)} \`${s(r.layer)}\``, s(r.batch), s(r.hours)]),
    ),
  ratio: (rows) =>
    md(
      ['model', 'up to layer', 'batch', 'backend', 'reference', 'time ÷ reference'],
      rows.filter((r) => r.kind === 'ratio').map((r) => [s(r.model), `\`${s(r.layer)}\``, s(r.batch), s(r.backend), s(r.reference), s(r.ratio)]),
    ),
  dataset: (rows) =>
    md(
      ['backend', 'model', 'layers (+ logits)', 'batch', 'photos/s'],
      rows.filter((r) => r.kind === 'dataset').map((r) => [s(r.backend), s(r.model), s(r.layers), s(r.batch), s(r.photosPerSec)]),
    ),
};
export const TABLE_KINDS = Object.keys(TABLES);

/** "Measured <date> on <machine> with `<command>`", from a results file's meta row. */
function provenance(file: ResultsFile, pageDir: string): string {
  const link = `[${file.name}](${pageDir}bench/results/${file.name})`;
  const m = file.meta;
  if (!m) return `From ${link}.`;
  const machine = (m.machine ?? {}) as Row;
  const gpu = machine.gpu ? `${s(machine.gpu)}, ` : '';
  const cpu = machine.cpus ? `${s(machine.cpus)} CPUs${machine.cpuModel ? ` (${s(machine.cpuModel)})` : ''}` : '';
  return `Measured ${s(m.date).slice(0, 10)} on ${gpu}${cpu} with \`${s(m.command)}\`; data: ${link}.`;
}

const MARKER = /<!-- bench-table: (\S+) (\S+) -->\n[\s\S]*?<!-- \/bench-table -->/g;

/**
 * The page with every marked table rendered from its results file. `pageDir` is the path from the
 * page's folder to the repository root (docs/ → "../"). An unknown kind or file is an error naming it.
 */
export function renderBenchTables(page: string, results: ResultsFile[], pageDir = '../'): string {
  return page.replace(MARKER, (_, kind: string, name: string) => {
    const render = TABLES[kind];
    if (!render) throw new Error(`bench-table: unknown kind "${kind}" (known: ${TABLE_KINDS.join(', ')})`);
    const file = results.find((f) => f.name === name);
    if (!file) throw new Error(`bench-table: bench/results/${name} not found`);
    return `<!-- bench-table: ${kind} ${name} -->\n${render(file.rows)}\n\n${provenance(file, pageDir)}\n<!-- /bench-table -->`;
  });
}
