/** Helpers for the engine tests: run on a given backend, compare, seeded numbers, shared models. */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { loadOrt, type OrtModule } from '../../pipeline/engine/onnx/runtime.ts';
import { after, before } from 'node:test';
import type { LeanGraph } from '../../pipeline/engine/graph.ts';
import { OnnxEngine } from '../../pipeline/engine/onnx/engine.ts';
import { M025, M075, MODELS, sharedGraph } from './fixtures.ts';

/** Runs fn on `backend` (already registered), returns its tensors' values as plain arrays. */
export async function onBackend(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(fn);
    const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(out);
    return values;
  } finally {
    await tf.setBackend(previous);
  }
}

/** ‖a − b‖ / ‖b‖ (‖a − b‖ when b is 0). */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (!Number.isFinite(a[i]!)) return Infinity;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return Math.sqrt(num) / (den > 0 ? Math.sqrt(den) : 1);
}

/** Deterministic uniform [0, 1) numbers (mulberry32). */
export { prng as rng } from '../../pipeline/render/seed.ts';

/** The shared models folder (fixtures.ts MODELS: ATLAS_MODELS, else ../shared/models beside the checkout). */
export const modelsDir = (): string => MODELS;

export function sharedModel(id: string): string | undefined {
  const file = path.join(modelsDir(), id, 'model.json');
  return fs.existsSync(file) ? file : undefined;
}

/** ONNX Runtime, or why it cannot load here (a test's `skip` reason). */
export async function ortOrSkip(): Promise<{ ort?: OrtModule; skip: string | false }> {
  try {
    return { ort: await loadOrt(), skip: false };
  } catch (err) {
    return { skip: `onnxruntime-node cannot load here: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Both shared MobileNets' lean graphs and an onnx-cpu engine on each: made in the calling suite's `before`, disposed in its `after`. */
export function mobileNetEngines(ort: () => OrtModule): { m75: LeanGraph; m25: LeanGraph; e75: OnnxEngine; e25: OnnxEngine } {
  const g = {} as { m75: LeanGraph; m25: LeanGraph; e75: OnnxEngine; e25: OnnxEngine };
  before(async () => {
    g.m75 = await sharedGraph(M075);
    g.m25 = await sharedGraph(M025);
    g.e75 = new OnnxEngine(g.m75.lowered, { ort: ort(), provider: 'cpu' });
    g.e25 = new OnnxEngine(g.m25.lowered, { ort: ort(), provider: 'cpu' });
  });
  after(() => {
    for (const x of [g.e75, g.e25, g.m75, g.m25]) x?.dispose();
  });
  return g;
}
