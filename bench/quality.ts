/**
 * The quality report: per method, summarizes
 *  - a pipeline output folder (its manifest.json: ManifestUnit.quality of class units), and/or
 *  - the experiment files of bench/lucid-classes.ts (classes.json) and bench/lucid-filters.ts (filters.json).
 *
 *   npm run quality -- <folder or file> [...]
 */
import fs from 'node:fs/promises';
import path from 'node:path';

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

async function report(target: string): Promise<void> {
  const stat = await fs.stat(target);
  const files = stat.isDirectory() ? ['manifest.json', 'classes.json', 'filters.json'].map((f) => path.join(target, f)) : [target];
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const data = JSON.parse(text);
    console.log(`\n== ${file}`);
    if (path.basename(file) === 'filters.json') {
      type F = { method: string; layer: string; filter: number; rank: number; z: number; means: number[]; steps: number; size: number; objective?: string; pre?: { rank: number; z: number; means: number[] } };
      const rows = data as F[];
      const methods = [...new Set(rows.map((r) => `${r.method}|${r.objective ?? ''}`))];
      const out: Row[] = [];
      for (const key of methods) {
        const [method, objective] = key.split('|');
        const mine = rows.filter((r) => r.method === method && (r.objective ?? '') === objective);
        for (const view of ['layer output', 'pre-activation'] as const) {
          const get = (r: F) => (view === 'layer output' ? r : r.pre);
          if (!mine.every((r) => get(r))) continue;
          // Second view: each channel standardized over all images of this method (its own scale removed).
          const c = get(mine[0]!)!.means.length;
          const mu = Array.from({ length: c }, (_, k) => mean(mine.map((r) => get(r)!.means[k]!)));
          const sd = Array.from({ length: c }, (_, k) => Math.sqrt(mean(mine.map((r) => (get(r)!.means[k]! - mu[k]!) ** 2))) || 1);
          const topStd = mine.filter((r) => {
            const z = get(r)!.means.map((v, k) => (v - mu[k]!) / sd[k]!);
            return z.every((v) => v <= z[r.filter]!);
          }).length;
          out.push({
            method: objective ? `${method} (${objective === 'pre' ? 'objective: pre-activation' : objective === 'post' ? 'objective: layer output' : objective})` : method,
            layer: mine[0]!.layer,
            'size/steps': `${mine[0]!.size}/${mine[0]!.steps}`,
            filters: mine.length,
            'measured on': view,
            'target is top channel (z across channels; ties count)': pct(mine.filter((r) => get(r)!.rank === 0).length, mine.length),
            'strictly top': pct(mine.filter((r) => get(r)!.means.every((v, k) => k === r.filter || v < get(r)!.means[r.filter]!)).length, mine.length),
            'in top 3': pct(mine.filter((r) => get(r)!.rank < 3).length, mine.length),
            'mean z': mean(mine.map((r) => get(r)!.z)).toFixed(2),
            'top after per-channel standardization over images': pct(topStd, mine.length),
          });
        }
      }
      console.log(table(out));
    } else if (path.basename(file) === 'classes.json') {
      const rows = data as { method: string; class: number; quality: ClassQ; transfer: { top5HasTarget: boolean }; steps: number }[];
      const by = new Map<string, { q: ClassQ; transfer?: { top5HasTarget: boolean } }[]>();
      for (const r of rows) by.set(`${r.method} (${r.steps} steps)`, [...(by.get(`${r.method} (${r.steps} steps)`) ?? []), { q: r.quality, transfer: r.transfer }]);
      console.log(table(classRows(by)));
    } else {
      const units = (data.units ?? []) as { method: string; kind: string; status: string; quality?: ClassQ }[];
      const by = new Map<string, { q: ClassQ }[]>();
      for (const u of units) if (u.kind === 'class' && u.status === 'ok' && u.quality) by.set(u.method, [...(by.get(u.method) ?? []), { q: u.quality }]);
      console.log(table(classRows(by)));
    }
  }
}

const targets = process.argv.slice(2);
if (!targets.length) {
  console.error('usage: npm run quality -- <output folder | manifest.json | classes.json | filters.json> [...]');
  process.exit(2);
}
for (const t of targets) await report(t);
