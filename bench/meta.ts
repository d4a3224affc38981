/**
 * The first JSON line of a bench run (`kind: "meta"`): when, on what machine and with which command
 * the rows after it were measured, so a results file under bench/results/ says what it holds.
 * `--note TEXT` adds what the numbers cannot say (a shared machine, another job running beside it).
 */
import os from 'node:os';
import { physicalCores } from '../pipeline/engine/cores.ts';

export interface BenchMeta {
  kind: 'meta';
  /** ISO time the run started. */
  date: string;
  /** The command as typed, e.g. `npm run bench -- --json --backends wasm`. */
  command: string;
  machine: { cpuModel: string; cpus: number; physicalCores: number; memoryGiB: number; os: string; arch: string; node: string };
  /** 1-, 5- and 15-minute load averages when the run started (Linux, macOS). */
  loadAverage: number[];
  note?: string;
}

/** The meta row of `npm run <script> -- <args>`; `--note TEXT` (or `--note=TEXT`) among the args becomes `note`. */
export function benchMeta(script: string, args: string[]): BenchMeta {
  const at = args.findIndex((a) => a === '--note' || a.startsWith('--note='));
  const note = at < 0 ? undefined : args[at]!.startsWith('--note=') ? args[at]!.slice('--note='.length) : args[at + 1];
  const shown = args.filter((_, i) => i !== at && !(i === at + 1 && args[at] === '--note'));
  return {
    kind: 'meta',
    date: new Date().toISOString(),
    command: `npm run ${script}${shown.length ? ` -- ${shown.join(' ')}` : ''}`,
    machine: {
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      cpus: os.cpus().length,
      physicalCores: physicalCores(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      arch: os.arch(),
      node: process.version,
    },
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    ...(note ? { note } : {}),
  };
}
