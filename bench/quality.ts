/**
 * The quality report: per method, summarizes
 *  - a pipeline output folder (its manifest.json: ManifestUnit.quality of class units — top-k on the
 *    image and on jittered/scaled copies — and of filter units — where the target ranks among the
 *    layer's channels), and/or
 *  - the experiment file of bench/lucid-classes.ts (classes.json);
 * and lists the units of a manifest by flag (dead, stalled, not-top1, not-selective).
 *
 *   npm run quality -- <folder or file> [...]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, classQualityOf, filterQualityOf, readManifest, type FilterQualityEntry, type ManifestUnit } from '../pipeline/output/manifest.ts';

interface Row {
  [k: string]: string | number;
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}% (${n}/${d})` : '–');
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function table(rows: Row[]): string {
  if (!rows.length) return '(none)';
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join('  ');
  return [line(keys), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(keys.map((k) => String(r[k]))))].join('\n');
}

interface ClassQ {
  top1IsTarget: boolean;
  top5HasTarget: boolean;
  jitterTop1Rate?: number;
  jitterTop5Rate?: number;
}

function classRows(byMethod: Map<string, { q: ClassQ; transfer?: { top5HasTarget: boolean } }[]>): Row[] {
  return [...byMethod].map(([method, units]) => {
    const jit = units.map((u) => u.q.jitterTop1Rate).filter((v): v is number => typeof v === 'number');
    const transfer = units.filter((u) => u.transfer);
    return {
      method,
      classes: units.length,
      top1: pct(units.filter((u) => u.q.top1IsTarget).length, units.length),
      top5: pct(units.filter((u) => u.q.top5HasTarget).length, units.length),
      'copies top-1 (mean)': jit.length ? `${(100 * mean(jit)).toFixed(1)}%` : '–',
      'classes with ≥90% copies top-1': pct(jit.filter((v) => v >= 0.9).length, jit.length),
      ...(transfer.length ? { 'transfer top-5': pct(transfer.filter((u) => u.transfer!.top5HasTarget).length, transfer.length) } : {}),
    };
  });
}

/** What a filter unit's objective was, for grouping: its objective name, and where it read the layer. */
function objectiveName(u: ManifestUnit): string {
  const s = u.settings;
  const kind = s.filterObjective ?? 'channel';
  const pre = s.preActivation === true;
  return kind === 'channel' || kind === 'neuron' ? `${kind} (${pre ? 'pre-activation' : 'layer output'})` : kind;
}

/**
 * Per method, objective and layer: how often the target is the layer's most activated channel on
 * the final optimized image (ManifestUnit.quality of filters, see render/quality.ts).
 */
function filterRows(units: { u: ManifestUnit; q: FilterQualityEntry }[]): Row[] {
  const groups = new Map<string, { u: ManifestUnit; q: FilterQualityEntry }[]>();
  for (const x of units) {
    const key = `${x.u.method}|${objectiveName(x.u)}|${x.u.layer}`;
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  return [...groups].map(([key, xs]) => {
    const [method, objective, layer] = key.split('|');
    const us = xs.map((x) => x.u);
    const q = xs.map((x) => x.q);
    const pre = q.filter((r) => r.preActivation).map((r) => r.preActivation!);
    return {
      method: method!,
      objective: objective!,
      layer: layer!,
      filters: us.length,
      'target top (ties count)': pct(q.filter((r) => r.rank === 0).length, q.length),
      'strictly top': pct(q.filter((r) => r.rank === 0 && r.ties === 0).length, q.length),
      'in top 3': pct(q.filter((r) => r.rank < 3).length, q.length),
      'mean z': mean(q.map((r) => r.z)).toFixed(2),
      'pre-activation: strictly top': pre.length ? pct(pre.filter((r) => r.rank === 0 && r.ties === 0).length, pre.length) : '–',
      // Filters not strictly top on the layer output: filter (its place, the top channel).
      misses: us.flatMap((u, i) => (q[i]!.rank > 0 || q[i]!.ties > 0 ? [`${u.index} (place ${q[i]!.rank + 1}, top ${q[i]!.top})`] : [])).join(' ') || '–',
    };
  });
}

/** Units whose pictures may not show what their page says (pipeline/render/flags.ts), listed by flag. */
function flagged(units: ManifestUnit[]): string {
  const byFlag = new Map<string, string[]>();
  for (const u of units) for (const f of u.flags) byFlag.set(f, [...(byFlag.get(f) ?? []), u.key]);
  if (!byFlag.size) return 'flags: none';
  return [...byFlag].map(([flag, keys]) => `flag ${flag} (${keys.length}): ${keys.join(' ')}`).join('\n');
}

async function report(target: string): Promise<void> {
  const stat = await fs.stat(target);
  const files = stat.isDirectory() ? [MANIFEST_FILE, 'classes.json'].map((f) => path.join(target, f)) : [target];
  for (const file of files) {
    if (!(await fs.stat(file).catch(() => undefined))) continue;
    console.log(`\n== ${file}`);
    if (path.basename(file) === 'classes.json') {
      const rows = JSON.parse(await fs.readFile(file, 'utf8')) as { method: string; class: number; quality: ClassQ; transfer: { top5HasTarget: boolean }; steps: number }[];
      const by = new Map<string, { q: ClassQ; transfer?: { top5HasTarget: boolean } }[]>();
      for (const r of rows) by.set(`${r.method} (${r.steps} steps)`, [...(by.get(`${r.method} (${r.steps} steps)`) ?? []), { q: r.quality, transfer: r.transfer }]);
      console.log(table(classRows(by)));
    } else {
      const { units } = await readManifest(path.dirname(file));
      const by = new Map<string, { q: ClassQ }[]>();
      for (const u of units) {
        const q = u.status === 'ok' ? classQualityOf(u) : undefined;
        if (q) by.set(u.method, [...(by.get(u.method) ?? []), { q }]);
      }
      if (by.size) console.log(table(classRows(by)));
      const filters = units.flatMap((u) => {
        const q = u.status === 'ok' ? filterQualityOf(u) : undefined;
        return q ? [{ u, q }] : [];
      });
      if (filters.length) console.log(`${by.size ? '\n' : ''}${table(filterRows(filters))}`);
      console.log(`\n${flagged(units)}`);
    }
  }
}

const targets = process.argv.slice(2);
const USAGE = 'usage: npm run quality -- <output folder | manifest.json | classes.json> [...]\n\nMore: docs/quality.md (what the numbers mean).\n';
if (targets.includes('--help')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!targets.length) {
  process.stderr.write(USAGE);
  process.exit(2);
}
for (const t of targets) await report(t);
