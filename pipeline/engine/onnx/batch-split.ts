/**
 * One model run as several ONNX Runtime sessions at once, each on worker threads of its own and on a
 * slice of the batch: the CPU provider's way to use more than one core for a small batch. ORT's
 * intra-op threads split each kernel, and most of a chained step's kernels are too small for that to
 * pay: on this project's 2-core machine a chained lucid call (K = 8, batch 4, MobileNet v1 0.75)
 * took 587 ms on 2 intra-op threads against 626 ms on one, while two batch-2 halves, one thread each,
 * ran side by side in 300 ms (`bench/lucid-chain/results.md`). Images of a batch are independent in
 * every model this project compiles, so a slice gives each image exactly what the whole batch gives it.
 *
 * `SplitSession` is an `OrtSession`: feeds are sliced along each tensor's batch axis (`BatchAxes`;
 * tensors it does not name go whole to every part), the parts run on their threads
 * (`split-worker.ts`), and the outputs are joined along their batch axes. float32 tensors only, host
 * memory only (the CPU provider's). A worker holds the process open only while it runs. Every part
 * holds its own copy of the weights, so the parts are as many as free memory allows (`partsWithinMemory`).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OrtModule, OrtSession, OrtTensor } from './runtime.ts';

/** The batch axis of every input and output that has one (others are the same for every part). */
export interface BatchAxes {
  inputs: Readonly<Record<string, number>>;
  outputs: Readonly<Record<string, number>>;
}

/**
 * How many parts a CPU run on `threads` cores splits a batch into: one per core up to one per image
 * (`threads` undefined: ORT's own threading, no split), each part getting `threads / parts` threads.
 */
export function batchParts(threads: number | undefined, batch: number): { parts: number; threadsPerPart: number } {
  const parts = Math.max(1, Math.min(threads ?? 1, batch));
  return { parts, threadsPerPart: Math.max(1, Math.floor((threads ?? 1) / parts)) };
}

/**
 * At most `parts` sessions of a model of `modelBytes`, as many as free memory allows: every session
 * holds its own copy of the weights (and ORT may pre-pack them: twice the bytes), while the
 * activations are the batch's whichever way it is sliced. The extra copies may take half of `freeBytes`.
 */
export function partsWithinMemory(parts: number, modelBytes: number, freeBytes = os.freemem()): number {
  return Math.max(1, Math.min(parts, 1 + Math.floor(freeBytes / 2 / (2 * Math.max(1, modelBytes)))));
}

/** Sizes of `parts` consecutive slices of `batch` images, the larger ones first (5 in 2: 3, 2). */
export function sliceSizes(batch: number, parts: number): number[] {
  const n = Math.min(parts, batch);
  return Array.from({ length: n }, (_, i) => Math.floor(batch / n) + (i < batch % n ? 1 : 0));
}

interface HostTensor {
  data: Float32Array;
  dims: number[];
}

/** Images [start, end) of `t` along `axis`. */
export function sliceAxis(t: HostTensor, axis: number, start: number, end: number): HostTensor {
  const outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = t.dims[axis]!;
  const data = new Float32Array(outer * (end - start) * inner);
  for (let o = 0; o < outer; o++) data.set(t.data.subarray((o * n + start) * inner, (o * n + end) * inner), o * (end - start) * inner);
  return { data, dims: t.dims.map((d, i) => (i === axis ? end - start : d)) };
}

/** `parts` joined along `axis` (the inverse of slicing consecutive ranges). */
export function joinAxis(parts: HostTensor[], axis: number): HostTensor {
  const first = parts[0]!;
  const outer = first.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = first.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = parts.reduce((a, p) => a + p.dims[axis]!, 0);
  const data = new Float32Array(outer * total * inner);
  for (let o = 0, at = 0; o < outer; o++)
    for (const p of parts) {
      const rows = p.dims[axis]! * inner;
      data.set(p.data.subarray(o * rows, (o + 1) * rows), at);
      at += rows;
    }
  return { data, dims: first.dims.map((d, i) => (i === axis ? total : d)) };
}

/** What a part's thread answers (`split-worker.ts`). */
export type PartReply = { type: 'ready' } | { type: 'failed'; error: string } | { type: 'out'; id: number; outputs: Record<string, HostTensor> } | { type: 'error'; id: number; error: string };

interface Part {
  worker: Worker;
  pending: Map<number, { resolve: (out: Record<string, HostTensor>) => void; reject: (err: Error) => void }>;
  /** Why it can no longer run, once it cannot. */
  gone?: Error;
}

const WORKER = new URL('./split-worker.ts', import.meta.url);

function startPart(model: Uint8Array, threads: number): Promise<Part> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { model, threads } });
    const part: Part = { worker, pending: new Map() };
    const fail = (err: Error) => {
      part.gone ??= err;
      for (const p of part.pending.values()) p.reject(err);
      part.pending.clear();
      reject(err);
    };
    worker.on('message', (m: PartReply) => {
      if (m.type === 'ready') {
        worker.unref();
        resolve(part);
      } else if (m.type === 'failed') fail(new Error(m.error));
      else {
        const p = part.pending.get(m.id);
        part.pending.delete(m.id);
        if (!part.pending.size) worker.unref();
        if (m.type === 'out') p?.resolve(m.outputs);
        else p?.reject(new Error(m.error));
      }
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`an ONNX Runtime worker thread exited (code ${code})`)));
  });
}

/** Ends a part's thread. An idle worker is unref'd: ref it, or nothing keeps the process alive until its exit settles `terminate`. */
async function stopPart(part: Part): Promise<void> {
  part.worker.ref();
  await part.worker.terminate();
}

let nextId = 0;

export class SplitSession implements OrtSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly parts: Part[],
    private readonly axes: BatchAxes,
  ) {}

  /** `parts` sessions of `model` on the CPU provider, `threads` intra-op threads each, on worker threads. */
  static async create(ort: OrtModule, model: Uint8Array, axes: BatchAxes, parts: number, threads: number): Promise<SplitSession> {
    const started = await Promise.allSettled(Array.from({ length: parts }, () => startPart(model, threads)));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map(stopPart));
      throw (failed as PromiseRejectedResult).reason as Error;
    }
    return new SplitSession(ort, ok, axes);
  }

  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    const host = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, hostOf(name, t)]));
    const [name, axis] = Object.entries(this.axes.inputs).find(([n]) => host[n]) ?? [];
    if (name === undefined) throw new Error('a split run needs an input with a batch axis');
    const sizes = sliceSizes(host[name]!.dims[axis!]!, this.parts.length);
    const replies = await Promise.all(
      sizes.map((size, i) => {
        const start = sizes.slice(0, i).reduce((a, b) => a + b, 0);
        const sliced = Object.fromEntries(Object.entries(host).flatMap(([n, t]) => (n in this.axes.inputs ? [[n, sliceAxis(t, this.axes.inputs[n]!, start, start + size)]] : [])));
        // The slices are this run's own copies: their buffers move to the thread; whole tensors are copied.
        return this.send(
          this.parts[i]!,
          { ...host, ...sliced },
          Object.values(sliced).map((t) => t.data.buffer as ArrayBuffer),
        );
      }),
    );
    return Object.fromEntries(
      Object.keys(replies[0]!).map((out) => {
        const axis = this.axes.outputs[out];
        const t =
          axis === undefined
            ? replies[0]![out]!
            : joinAxis(
                replies.map((r) => r[out]!),
                axis,
              );
        return [out, new this.ort.Tensor('float32', t.data, t.dims)];
      }),
    );
  }

  async release(): Promise<void> {
    await Promise.all(this.parts.map(stopPart));
  }

  private send(part: Part, feeds: Record<string, HostTensor>, transfer: ArrayBuffer[]): Promise<Record<string, HostTensor>> {
    if (part.gone) return Promise.reject(part.gone);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      part.pending.set(id, { resolve, reject });
      part.worker.ref();
      part.worker.postMessage({ id, feeds }, transfer);
    });
  }
}

function hostOf(name: string, t: OrtTensor): HostTensor {
  if (!(t.data instanceof Float32Array) || (t.location && t.location !== 'cpu')) throw new Error(`a split run takes float32 host tensors; "${name}" is not one`);
  return { data: t.data, dims: [...t.dims] };
}
