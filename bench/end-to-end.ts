/**
 * End to end, measured: a small atlas through runPipeline with 1 and with N worker processes, on
 * each backend asked for, in rounds that alternate the worker counts (so a change in the machine's
 * load hits both alike), with the CPU seconds of the whole process tree beside the wall time.
 *
 * The CPU seconds say what a speed-up can be: a run that keeps `cpu / wall` cores busy with one
 * worker can gain at most `cores / (cpu / wall)` from more workers on the same cores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendName } from '../pipeline/engine/backend.ts';
import { runPipeline } from '../pipeline/run.ts';

export interface EndToEndCase {
  modelsDir: string;
  model: string;
  backend: BackendName;
  workers: number;
  quick: boolean;
  /** Filters per layer (3 layers); default 4. */
  perLayer?: number;
  /** site.media: the tier to encode with (default `budget`: a small job gets `full`, a whole-model atlas `compact`). */
  media?: string;
}

/** CPU seconds of this process and of its children that have ended (Linux /proc; else this process only). */
export function treeCpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // Fields 16 and 17 (cutime, cstime) after the command name, in clock ticks (100 per second on Linux).
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // Not Linux: children are not counted.
  }
  return (own.user + own.system) / 1e6 + children;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** One end-to-end run: 3 × perLayer filter units × 30 steps across an early, a mid and the last layer of the model (2 × 2 steps with --quick). */
export async function endToEndRow(c: EndToEndCase): Promise<Record<string, unknown> | undefined> {
  const source = path.join(c.modelsDir, c.model);
  if (!fs.existsSync(path.join(source, 'model.json'))) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-'));
  const steps = c.quick ? 2 : 30;
  const last = (c.perLayer ?? 4) - 1;
  const config = [
    `model: { id: ${c.model}, source: ${JSON.stringify(source)} }`,
    c.quick ? 'layers: { conv_dw_2_relu: 0-1 }' : `layers: { conv_pw_2_relu: 0-${last}, conv_pw_6_relu: 0-${last}, conv_pw_13_relu: 0-${last} }`,
    'render:',
    `  filters: { steps: ${steps} }`,
    c.quick ? '  size: 64' : '',
    '  batch: auto',
    `output: ${JSON.stringify(path.join(dir, 'out'))}`,
    c.media ? `site: { media: ${c.media} }` : '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'atlas.config.yaml'), config);
  const load1 = round(os.loadavg()[0]!);
  const cpu0 = treeCpuSeconds();
  const t0 = performance.now();
  try {
    const summary = await runPipeline({ configFile: path.join(dir, 'atlas.config.yaml'), quiet: true, env: {}, workers: c.workers, backend: c.backend });
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = treeCpuSeconds() - cpu0;
    return {
      kind: 'e2e',
      backend: summary.backend.name,
      model: c.model,
      units: summary.computed + summary.failed,
      steps,
      workers: c.workers,
      media: summary.manifest.units.find((u) => u.media)?.media?.tier ?? 'full',
      load1,
      seconds: round(seconds),
      cpuSeconds: round(cpuSeconds),
      coresBusy: round(cpuSeconds / seconds),
      unitsPerMinute: round((summary.computed * 60) / seconds),
      failed: summary.failed,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Per backend, media tier and worker count: the median units/min over the rounds, and its ratio to one worker's. */
export function speedups(rows: Record<string, unknown>[]): { backend: string; media: string; workers: number; unitsPerMinute: number; coresBusy: number; ratio: number; rounds: number }[] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const k = `${r.backend}\u0000${r.media}\u0000${r.workers}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const result = [...groups.values()].map((g) => ({
    backend: g[0]!.backend as string,
    media: g[0]!.media as string,
    workers: g[0]!.workers as number,
    unitsPerMinute: round(median(g.map((r) => r.unitsPerMinute as number))),
    coresBusy: round(median(g.map((r) => r.coresBusy as number))),
    rounds: g.length,
    ratio: 1,
  }));
  for (const r of result) {
    const one = result.find((o) => o.backend === r.backend && o.media === r.media && o.workers === 1);
    r.ratio = one ? round(r.unitsPerMinute / one.unitsPerMinute) : NaN;
  }
  return result;
}
