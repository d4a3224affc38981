/**
 * Dataset examples, measured.
 *
 * `datasetRow()` (the `npm run bench` row): photos per second of the dataset's forward pass over
 * the default config's layers and the class scores at once (batches of DATASET_BATCH, per-channel
 * stats included; decoding not included), on the current backend.
 *
 * `tsx bench/dataset.ts [--folder DIR] [--labels CSV]` (default: the shared photo set): ranks every
 * photo for the default classes and for every ImageNet class `labels.csv` names, and prints
 *  - per default class, the share of its top-9 photos that the model classifies as the class;
 *  - per labelled class, how many of its own photos rank in its top 9.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { photoStats, type ActivationPlan } from '../pipeline/dataset/activations.ts';
import { DATASET_BATCH } from '../pipeline/dataset/pass.ts';
import { decodePhoto, modelCrop, PHOTO_EXTENSIONS } from '../pipeline/dataset/photos.ts';
import { Rankings } from '../pipeline/dataset/rank.ts';
import { selectBackend } from '../pipeline/engine/backend.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { loadModel } from '../pipeline/model/load.ts';
import { planClasses } from '../pipeline/plan.ts';
import { SHARED_MODELS } from './lucid-common.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = SHARED_MODELS;
const M75 = 'mobilenet_v1_0.75_224';
const SIZE: [number, number] = [224, 224];
/** The default config's layers and classes (atlas.config.yaml). */
const LAYERS = ['conv_pw_2_relu', 'conv_pw_5_relu', 'conv_pw_9_relu', 'conv_pw_13_relu'];
const DEFAULT_CLASSES: (number | string)[] = [141, 'goldfish', 'espresso', 'volcano'];

async function graphOf(model = M75): Promise<LeanGraph> {
  return (await loadModel(path.join(modelsDir, model, 'model.json'))).graph;
}

/** Photos/s of the forward pass over LAYERS + the logits, batches of DATASET_BATCH (after a warm-up batch). */
export async function datasetRow(batches = 4): Promise<Record<string, unknown>> {
  const graph = await graphOf();
  const plan: ActivationPlan = { layers: LAYERS, scoreNode: graph.logitNode, border: 2 };
  const photos = Array.from({ length: DATASET_BATCH }, (_, i) => Uint8Array.from({ length: SIZE[0] * SIZE[1] * 3 }, (_, j) => (i * 31 + j * 7) % 256));
  await photoStats(graph, { range: [-1, 1] }, plan, photos, SIZE);
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await photoStats(graph, { range: [-1, 1] }, plan, photos, SIZE);
  const seconds = (performance.now() - t0) / 1000;
  graph.dispose();
  return { kind: 'dataset', backend: tf.getBackend(), model: M75, layers: LAYERS.length, batch: DATASET_BATCH, photosPerSec: Number(((batches * DATASET_BATCH) / seconds).toFixed(2)) };
}

/** `file,subject,imagenet_class` rows (quoted fields allowed). */
function parseLabels(csv: string): { file: string; cls: string }[] {
  const rows = csv.trim().split(/\r?\n/).slice(1);
  return rows.map((line) => {
    const cells = [...line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]!.replace(/^"|"$/g, '').replace(/""/g, '"'));
    return { file: cells[0]!, cls: (cells[2] ?? '').trim() };
  });
}

async function rankFolder(graph: LeanGraph, folder: string, classes: number[]): Promise<Rankings> {
  const files = (await fs.readdir(folder)).filter((f) => PHOTO_EXTENSIONS.includes(path.extname(f).toLowerCase())).sort();
  const rankings = new Rankings(new Map(), classes, 9);
  const plan: ActivationPlan = { layers: [], scoreNode: graph.logitNode, border: 2 };
  for (let i = 0; i < files.length; i += DATASET_BATCH) {
    const group = files.slice(i, i + DATASET_BATCH);
    const crops = await Promise.all(group.map(async (f) => modelCrop(await decodePhoto(await fs.readFile(path.join(folder, f))), SIZE)));
    const stats = await photoStats(graph, { range: [-1, 1] }, plan, crops, SIZE);
    group.forEach((f, j) => rankings.offer({ source: f, hash: f }, stats[j]!));
  }
  return rankings;
}

async function report(folder: string, labelsCsv: string | undefined): Promise<void> {
  const graph = await graphOf();
  const labels = JSON.parse(await fs.readFile(path.join(root, 'labels', 'imagenet.json'), 'utf8')) as string[];
  const own = labelsCsv ? parseLabels(await fs.readFile(labelsCsv, 'utf8')).filter((r) => r.cls) : [];
  const unknown: string[] = [];
  const named = [...new Set(own.map((r) => r.cls))].flatMap((name) => {
    try {
      return planClasses([name], labels).map((c) => ({ name, id: c.id }));
    } catch {
      unknown.push(name);
      return [];
    }
  });
  if (unknown.length) console.log(`labels.csv classes that are not ImageNet-1k labels (left out): ${unknown.join(', ')}`);
  const defaults = planClasses(DEFAULT_CLASSES, labels);
  const rankings = await rankFolder(graph, folder, [...new Set([...defaults.map((c) => c.id), ...named.map((c) => c.id)])]);
  console.log(`${rankings.photos} photos in ${folder}, ${M75}, backend ${tf.getBackend()}`);
  for (const c of defaults) {
    const top = rankings.classes.get(c.id)!.sorted();
    const hits = top.filter((e) => e.item.top1 === c.id).length;
    console.log(
      `class ${c.id} ${labels[c.id]}: ${hits}/${top.length} of its top-9 photos are top-1 for it; top 3: ${top
        .slice(0, 3)
        .map((e) => `${e.key} (top-1 ${labels[e.item.top1]!.split(',')[0]})`)
        .join(', ')}`,
    );
  }
  let ranked = 0;
  for (const { name, id } of named) {
    const mine = own.filter((r) => r.cls === name).map((r) => r.file);
    const top = new Set(
      rankings.classes
        .get(id)!
        .sorted()
        .map((e) => e.key),
    );
    const inTop = mine.filter((f) => top.has(f));
    ranked += inTop.length;
    console.log(`labels.csv "${name}" (class ${id}): ${inTop.length}/${mine.length} of its photos in its top 9`);
  }
  const counted = own.filter((r) => named.some((n) => n.name === r.cls)).length;
  if (counted) console.log(`all labelled photos: ${ranked}/${counted} rank in the top 9 of their class`);
  graph.dispose();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const option = (name: string) => args[args.indexOf(`--${name}`) + 1];
  const set = path.resolve(modelsDir, '..', 'photos', 'set');
  await selectBackend('auto');
  await report(
    args.includes('--folder') ? option('folder')! : path.join(set, 'images'),
    args.includes('--labels') ? option('labels') : args.includes('--folder') ? undefined : path.join(set, 'labels.csv'),
  );
  console.log(JSON.stringify(await datasetRow()));
}
