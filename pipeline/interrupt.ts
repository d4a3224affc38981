/**
 * Ctrl-C (SIGINT) and SIGTERM: the first asks the run to stop after the current batch (the run
 * sees `signal.aborted`, finishes the batch's files and the manifest, and exits 128 + signal: 130
 * for Ctrl-C); the second exits at once, after removing this process's in-flight temporary files
 * and its output lock, so no partial file is left under a real name.
 *
 * Signals reach Node between JavaScript tasks. On the wasm and cpu backends a batch's TF.js steps
 * settle as microtasks only, so a signal is seen when the batch ends (the run loop yields there);
 * on tfjs-node every step yields. Run the CLI with `node --import tsx` (the npm scripts do): the
 * `tsx` CLI wrapper SIGKILLs a child that does not acknowledge a signal within 60 ms.
 */
import os from 'node:os';
import { releaseAllLocksSync } from './lock.ts';
import { removeInFlightTemporariesSync } from './output/atomic.ts';

export interface InterruptHandle {
  /** Aborted by the first signal; its reason is the signal name. */
  signal: AbortSignal;
  /** 128 + signal number once a signal arrived (130 for SIGINT), else undefined. */
  exitCode(): number | undefined;
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const DUPLICATE_MS = 100;

export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 2);
}

/** Removes what an immediate exit must not leave behind, then exits. */
export function exitNow(code: number): never {
  removeInFlightTemporariesSync();
  releaseAllLocksSync();
  process.exit(code);
}

export function handleInterrupts(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): InterruptHandle {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let lastAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    const now = performance.now();
    // One Ctrl-C often arrives twice: from the terminal and relayed by `npm run` (or another
    // wrapper). The same signal again within DUPLICATE_MS is that echo, not a second Ctrl-C.
    const echo = sig === received && now - lastAt < DUPLICATE_MS;
    lastAt = now;
    if (echo) return;
    if (received) {
      log(`\n${sig === received ? `${sig} again` : `${sig} after ${received}`}: stopping now (finished units are kept; units being written are dropped)`);
      exitNow(exitCodeFor(received));
    }
    received = sig;
    log(`\n${sig}: stopping after the current batch; finished units are kept (press Ctrl-C again to stop now)`);
    controller.abort(sig);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received ? exitCodeFor(received) : undefined),
    dispose: () => {
      for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
