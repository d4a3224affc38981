/**
 * A test model for the quality bench: a real TF.js layers model (MobileNet v1 0.25) turned into one
 * that takes pixels in [0, 1] and lists its classes in another order. A `Rescaling(2, −1)` layer after
 * the input maps [0, 1] to the [−1, 1] the trunk expects, and the classifier's 1×1 convolution
 * (`conv_preds`) has its output channels permuted, with `labels.json` permuted the same way: the
 * model sees what MobileNet sees, under other class ids. Written as an ordinary model folder
 * (`model.json`, shards, `labels.json`), loaded like any other; its atlas config must declare
 * `pixels: { range: [0, 1] }` (a model starting with Rescaling otherwise defaults to [0, 255]).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { prng } from '../pipeline/render/seed.ts';

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
}
interface WeightGroup {
  paths: string[];
  weights: WeightEntry[];
}
interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

/** A seeded permutation of 0…n−1 (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const rand = prng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** Permutes the last axis of a float32 array of `shape` in place: new column j = old column perm[j]. */
function permuteLastAxis(data: Float32Array, shape: number[], perm: number[]): void {
  const n = shape.at(-1)!;
  if (perm.length !== n) throw new Error(`permutation of ${perm.length} for an axis of ${n}`);
  for (let row = 0; row < data.length; row += n) {
    const old = data.slice(row, row + n);
    for (let j = 0; j < n; j++) data[row + j] = old[perm[j]!]!;
  }
}

/**
 * Writes the [0, 1], class-permuted copy of the TF.js MobileNet folder `source` into `dest`;
 * returns the permutation (class j of the copy is class perm[j] of the source).
 */
export async function writeShuffledModel(source: string, dest: string, seed = 18): Promise<number[]> {
  const model = JSON.parse(await fs.readFile(path.join(source, 'model.json'), 'utf8'));
  const labels: string[] = JSON.parse(await fs.readFile(path.join(source, 'labels.json'), 'utf8'));
  const perm = permutation(labels.length, seed);
  const config = model.modelTopology.model_config.config as { layers: LayerJson[]; input_layers: [string, number, number][] };
  const input = config.input_layers[0]![0];
  const rescale: LayerJson = {
    class_name: 'Rescaling',
    name: 'from_unit_range',
    config: { name: 'from_unit_range', trainable: false, dtype: 'float32', scale: 2, offset: -1 },
    inbound_nodes: [[[input, 0, 0, {}]]],
  };
  for (const layer of config.layers) {
    const nodes = JSON.stringify(layer.inbound_nodes);
    if (nodes.includes(`"${input}"`)) layer.inbound_nodes = JSON.parse(nodes.replaceAll(`"${input}"`, '"from_unit_range"'));
  }
  const at = config.layers.findIndex((l) => l.name === input || l.config.name === input);
  config.layers.splice(at + 1, 0, rescale);
  await fs.mkdir(dest, { recursive: true });
  for (const group of model.weightsManifest as WeightGroup[]) {
    // A fresh copy: its offset is 0, so float32 views of it are aligned.
    const bytes = new Uint8Array(Buffer.concat(await Promise.all(group.paths.map((p) => fs.readFile(path.join(source, p))))));
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32') throw new Error(`${source}: weight ${w.name} is ${w.dtype}; only float32 weights are handled`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (w.name.startsWith('conv_preds/')) permuteLastAxis(new Float32Array(bytes.buffer, bytes.byteOffset + offset, count), w.shape, perm);
      offset += count * 4;
    }
    // One shard per group, under the group's first name.
    group.paths = [path.basename(group.paths[0]!)];
    await fs.writeFile(path.join(dest, group.paths[0]!), bytes);
  }
  await fs.writeFile(path.join(dest, 'model.json'), JSON.stringify(model));
  await fs.writeFile(path.join(dest, 'labels.json'), JSON.stringify(perm.map((j) => labels[j]!)));
  return perm;
}
