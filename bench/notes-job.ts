/**
 * The notes' job end to end: every filter (512) of ResNet50V2's conv3_block4_out, 300 lecture steps
 * each, 224 px, `batch: auto`, through `runPipeline` on one backend: probe, render, files, manifest.
 * The model is bench/architectures.ts's ResNet50V2 up to conv3 (seeded weights: the speed is the
 * topology's) written as a TF.js model folder, as a user's would be.
 *
 *   node --import tsx bench/notes-job.ts --backend onnx-cuda [--units 512] [--steps 300] [--limit 240]
 *
 * Progress goes to stderr; one JSON line to stdout: {kind: 'notes-job', backend, units, steps,
 * computed, failed, seconds, ...}. With --limit, the run stops after the batch in progress once that
 * many seconds have passed (as Ctrl-C would), and the row projects the whole job from the units done.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendChoice } from '../pipeline/engine/backend.ts';
import { relaunchWithCudaLibraries } from '../pipeline/engine/onnx/cuda-libs.ts';
import { runPipeline } from '../pipeline/run.ts';
import { resnet50v2 } from './architectures.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

/** Writes a LayersModel as a TF.js model folder (model.json + one weights file). */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData!;
      const parts = Array.isArray(data) ? data : [data];
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(parts.map((p) => Buffer.from(p))));
      const manifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs! }];
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: manifest }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

async function main(): Promise<void> {
  relaunchWithCudaLibraries();
  const backend = (option('backend') ?? 'auto') as BackendChoice;
  const units = Number(option('units') ?? 512);
  const steps = Number(option('steps') ?? 300);
  const limit = option('limit') ? Number(option('limit')) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-notes-'));
  try {
    const model = resnet50v2({ until: 'conv3' });
    await saveLayersModel(model, path.join(dir, 'resnet50v2'));
    model.dispose();
    const config = [
      `model: { id: resnet50v2-conv3, source: ${JSON.stringify(path.join(dir, 'resnet50v2'))} }`,
      `layers: { conv3_block4_out: 0-${units - 1} }`,
      `render: { batch: auto, lecture: { filters: { steps: ${steps} } } }`,
      `output: ${JSON.stringify(path.join(dir, 'out'))}`,
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'atlas.config.yaml'), config);
    const abort = new AbortController();
    const t0 = performance.now();
    const timer = limit ? setTimeout(() => abort.abort(), limit * 1000) : undefined;
    const summary = await runPipeline({ configFile: path.join(dir, 'atlas.config.yaml'), backend, signal: abort.signal, env: {} });
    clearTimeout(timer);
    const seconds = (performance.now() - t0) / 1000;
    const round = (v: number) => Number(v.toPrecision(4));
    const row = {
      kind: 'notes-job',
      backend: summary.backend.name,
      detail: summary.backend.detail,
      model: 'resnet50v2',
      layer: 'conv3_block4_out',
      units,
      steps,
      size: 224,
      computed: summary.computed,
      failed: summary.failed,
      interrupted: summary.interrupted,
      seconds: round(seconds),
      ...(summary.interrupted && summary.computed ? { projectedSeconds: round((seconds * units) / summary.computed) } : {}),
      media: summary.manifest.units.find((u) => u.media)?.media?.tier,
    };
    process.stdout.write(JSON.stringify(row) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
// Dawn (webgpu) keeps the event loop alive.
process.exit(0);
