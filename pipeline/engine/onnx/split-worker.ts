/**
 * A worker thread of `batch-split.ts`: one ONNX Runtime session on the CPU provider (its model and
 * intra-op threads from `workerData`), running each slice of a batch it is sent and answering with
 * the outputs (their buffers transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PartReply } from './batch-split.ts';
import { loadOrt, sessionOptionsFor, type OrtTensor } from './runtime.ts';

const port = parentPort!;
const { model, threads } = workerData as { model: Uint8Array; threads: number };
/** Posts `m`, moving `transfer`'s buffers where they can move (ORT's own output buffers may not: then they are copied). */
const reply = (m: PartReply, transfer: ArrayBuffer[] = []) => {
  try {
    port.postMessage(m, transfer);
  } catch {
    port.postMessage(m);
  }
};

try {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(model, sessionOptionsFor('cpu', threads));
  port.on('message', (m: { id: number; feeds: Record<string, { data: Float32Array; dims: number[] }> }) => {
    const feeds = Object.fromEntries(Object.entries(m.feeds).map(([name, t]): [string, OrtTensor] => [name, new ort.Tensor('float32', t.data, t.dims)]));
    session.run(feeds).then(
      (out) => {
        const outputs = Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { data: t.data as Float32Array, dims: [...t.dims] }]));
        reply({ type: 'out', id: m.id, outputs }, [...new Set(Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer))]);
      },
      (err: Error) => reply({ type: 'error', id: m.id, error: err.message }),
    );
  });
  reply({ type: 'ready' });
} catch (err) {
  reply({ type: 'failed', error: `ONNX Runtime in a worker thread: ${(err as Error).message}` });
}
