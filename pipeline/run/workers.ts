/**
 * Worker processes: each a `node --import tsx` child (`worker-main.ts`) with its own TF.js backend
 * and lean graph, loaded once, rendering the batches its lane hands it. Child processes, not worker
 * threads: each has its own wasm module and heap, a crash or kill -9 takes down only that worker,
 * and the tsx loader applies as in the parent. A worker that dies fails its batch's units (the next
 * run renders them again) and is replaced for the lane's next batch; the run goes on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GPU_BACKENDS, type BackendName } from '../engine/backend-names.ts';
import { physicalCores } from '../engine/cores.ts';
import { failedBatch, type BatchOutput } from './batch.ts';
import type { BatchRunner } from './render-all.ts';
import type { TodoUnit } from './reuse.ts';
import type { ParentMessage, WorkerInit, WorkerMessage } from './worker-main.ts';

/**
 * Backends that drive a GPU (every one of `GPU_BACKENDS`: a process per core would open as many
 * sessions on one device, each with its own copy of the model), or use every core themselves
 * (tfjs-node): one worker is enough.
 */
const oneWorker = (backend: BackendName) => GPU_BACKENDS.has(backend) || backend === 'tensorflow';
/** Single-threaded CPU backends: a worker per core. */
export const CORE_BACKENDS: BackendName[] = ['wasm', 'cpu'];

/** Workers for `render.workers` / --workers: `auto` is one per physical core on the CPU backends (wasm, cpu, onnx-cpu), one on a GPU and on tfjs-node. */
export function workerCount(setting: number | 'auto', backend: BackendName): number {
  if (setting !== 'auto') return setting;
  return oneWorker(backend) ? 1 : physicalCores();
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  /** The batch it renders, when any: settled by its result or by the worker's death. */
  pending?: { resolve: (out: BatchOutput) => void; group: TodoUnit[]; onStep: () => void };
  /** Why it is gone (exit code or signal), once it is. */
  gone?: string;
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

/** Forks a worker and sends it `init`; it answers `ready` once its backend and graph are loaded. */
function startWorker(init: WorkerInit, log: (line: string) => void): Worker {
  const child = fork(WORKER_MAIN, [], { execArgv: ['--import', import.meta.resolve('tsx')], env: init.env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let ready!: () => void;
  let notReady!: (err: Error) => void;
  const w: Worker = { child, ready: new Promise((res, rej) => ((ready = res), (notReady = rej))) };
  w.ready.catch(() => {});
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'ready') ready();
    else if (m.type === 'init-failed') notReady(new Error(m.error));
    else if (m.type === 'log') log(m.line);
    else if (m.type === 'step') w.pending?.onStep();
    else if (m.type === 'done') settle(w, m.output);
  });
  // A send to a worker that just died fails with EPIPE; its 'exit' settles the batch.
  child.on('error', () => {});
  child.on('exit', (code, signal) => {
    w.gone = signal ? `signal ${signal}` : `exit code ${code}`;
    notReady(new Error(`worker ${child.pid} ended while starting (${w.gone})`));
    if (w.pending) settle(w, failedBatch(w.pending.group, `rendering failed: worker process ${child.pid} died (${w.gone})`));
  });
  child.send({ type: 'init', init } satisfies ParentMessage);
  return w;
}

/** Resolves the worker's pending batch, if any. */
function settle(w: Worker, out: BatchOutput): void {
  const p = w.pending;
  w.pending = undefined;
  p?.resolve(out);
}

/**
 * A lane per worker process. Every worker starts at once (loading while the main process plans
 * the batches) and is replaced, on its lane's next batch, after it dies.
 */
export function processPool(lanes: number, init: WorkerInit, log: (line: string) => void, autoBatch?: number): BatchRunner {
  const workers: (Worker | undefined)[] = Array.from({ length: lanes }, () => undefined);
  // A second Ctrl-C exits the parent at once: its workers go with it.
  const killAll = () => workers.forEach((w) => w?.child.kill('SIGKILL'));
  process.on('exit', killAll);
  for (let lane = 0; lane < lanes; lane++) workers[lane] = startWorker(init, log);
  return {
    lanes,
    autoBatch,
    async run(lane, group, onStep) {
      let w = workers[lane];
      if (!w || w.gone) w = workers[lane] = startWorker(init, log);
      // A worker that cannot start (bad model, backend missing) would fail every batch the same way: stop the run.
      // One killed by a signal while starting (the OOM killer, a stray kill) is started once more.
      const first = w;
      w = await first.ready.then(
        () => first,
        async (err: unknown) => {
          if (!first.gone?.startsWith('signal')) throw err;
          log(`worker process ${first.child.pid} was killed while starting (${first.gone}): starting another`);
          const next = (workers[lane] = startWorker(init, log));
          await next.ready;
          return next;
        },
      );
      const worker = w;
      return new Promise<BatchOutput>((resolve) => {
        worker.pending = { resolve, group, onStep };
        if (worker.gone) settle(worker, failedBatch(group, `rendering failed: worker process ${worker.child.pid} died (${worker.gone})`));
        else worker.child.send({ type: 'batch', group } satisfies ParentMessage);
      });
    },
    async close() {
      process.off('exit', killAll);
      await Promise.all(
        workers.map(async (w) => {
          if (!w || w.gone) return;
          const ended = new Promise((resolve) => w.child.once('exit', resolve));
          w.child.disconnect();
          return ended;
        }),
      );
    },
  };
}
