/**
 * A worker process (`workers.ts`): loads the config, the backend the parent chose and the lean
 * graph once, then renders the batches it is sent and sends back plain results. It writes nothing.
 * Signals are the parent's business (it finishes or stops the run); the worker ends when the
 * parent disconnects, or at the next step once the parent is gone.
 */
import { loadConfig } from '../config/load.ts';
import { selectBackend, type BackendName } from '../engine/backend.ts';
import { createGradientEngine } from '../engine/select-engine.ts';
import { tfjsEngine } from '../engine/tfjs-engine.ts';
import { encodeUnit } from '../output/writer.ts';
import { runBatch, type BatchContext, type BatchOutput } from './batch.ts';
import { loadStartPhotos, prepareAtlas } from './prepare.ts';
import type { TodoUnit } from './reuse.ts';

export interface WorkerInit {
  configFile: string;
  backend: BackendName;
  /** The validated config as the parent read it: a worker refuses a config file changed since. */
  configJson: string;
  env: NodeJS.ProcessEnv;
  /** Intra-op threads of an engine that uses several (ONNX Runtime): the cores split between workers. */
  threads: number;
}

export type ParentMessage = { type: 'init'; init: WorkerInit } | { type: 'batch'; group: TodoUnit[] };
export type WorkerMessage = { type: 'ready' } | { type: 'init-failed'; error: string } | { type: 'log'; line: string } | { type: 'step' } | { type: 'done'; output: BatchOutput };

const send = (m: WorkerMessage) => process.send!(m);

async function setUp(init: WorkerInit): Promise<BatchContext> {
  const backend = await selectBackend(init.backend);
  const loaded = await loadConfig(init.configFile);
  if (JSON.stringify(loaded.config) !== init.configJson) throw new Error(`${init.configFile} changed after the run started`);
  const ctx = await prepareAtlas(loaded, init.env);
  const photos = await loadStartPhotos(ctx);
  // The same engine as run.ts picks for the main process, with this worker's share of the cores.
  const { engine } = await createGradientEngine(backend, { nodes: ctx.graph.lowered }, () => tfjsEngine(ctx.graph), { threads: init.threads });
  return { ctx, engine, photos, log: (line) => send({ type: 'log', line }) };
}

if (process.send) {
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => {});
  process.on('disconnect', () => process.exit(0));
  // A batch's TF.js steps yield only to microtasks, so 'disconnect' waits for the batch to end; a
  // parent killed with SIGKILL is seen at the next step instead: this process is re-parented.
  const parent = process.ppid;
  const onStep = () => {
    if (process.ppid !== parent) process.exit(0);
    send({ type: 'step' });
  };
  let batch: Promise<BatchContext> | undefined;
  // Batches arrive one at a time (the parent waits for each result), so they are handled in order.
  const handle = async (m: ParentMessage) => {
    if (m.type === 'init') {
      batch = setUp(m.init);
      batch.then(
        () => send({ type: 'ready' }),
        (err: Error) => send({ type: 'init-failed', error: err.message }),
      );
      return;
    }
    const b = await batch!;
    const output = await runBatch(b, m.group, onStep);
    // Encoding (GIF quantization above all) costs a third of a unit's render: here it scales with
    // the workers instead of queueing in the main process. A failure leaves it to the main process.
    const ms = b.ctx.loaded.config.render.gifFrameMs;
    output.encoded = await Promise.all(output.results.map(async (r) => (r.error ? undefined : encodeUnit(r, ms, b.ctx.media.tier).catch(() => undefined))));
    send({ type: 'done', output });
  };
  process.on('message', (m: ParentMessage) => void handle(m));
}
