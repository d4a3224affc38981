/**
 * Progress: a live bar with ETA on a terminal (cli-progress), plain log lines otherwise (CI, pipes).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(totalSteps: number, units: number): void;
  /** Advances by `steps` optimization steps. */
  tick(steps: number, note?: string): void;
  /** A batch finished: `done` units of `units`. */
  batchDone(done: number, units: number, note: string): void;
  log(line: string): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  if (quiet) return { start() {}, tick() {}, batchDone() {}, log() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ stream, format: ' {bar} {percentage}% | {units} | ETA {eta_formatted} | {note}', hideCursor: true, etaBuffer: 200 }, cliProgress.Presets.shades_classic);
    let active = false;
    return {
      start(total, units) {
        bar.start(total, 0, { units: `0/${units} units`, note: '' });
        active = true;
      },
      tick(steps, note) {
        bar.increment(steps, note ? { note } : undefined);
      },
      batchDone(done, units, note) {
        bar.update({ units: `${done}/${units} units`, note });
      },
      log(line) {
        if (active) bar.stop();
        stream.write(`${line}\n`);
        if (active) bar.start(bar.getTotal(), bar.getProgress() * bar.getTotal());
      },
      stop() {
        if (active) bar.stop();
        active = false;
      },
    };
  }
  const t0 = Date.now();
  let total = 0;
  let done = 0;
  return {
    start(t) {
      total = t;
    },
    tick(steps) {
      done += steps;
    },
    batchDone(units, all, note) {
      const elapsed = (Date.now() - t0) / 1000;
      const eta = done > 0 ? Math.round((elapsed / done) * (total - done)) : 0;
      stream.write(`[${units}/${all} units] ${note} (${elapsed.toFixed(0)} s elapsed, ETA ${eta} s)\n`);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    stop() {},
  };
}
