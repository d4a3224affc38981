/**
 * Re-scores the filter images of bench/lucid-filters.ts with channels z-scored against a
 * reference set of natural images: for each channel c of the layer, μ_c and σ_c of its mean
 * activation over crops and flips of the photos in --photos; an image's channel scores are
 * z_c = (a_c − μ_c) / σ_c, with σ_c floored at the median channel σ (a channel silent on the
 * photos would otherwise win on any small activation). The criterion: the target has the
 * highest z of the layer. Reads <dir>/filters.json and <dir>/<method>/<filter>.png; no rendering.
 * With `--reference rendered`, μ_c and σ_c come from the method's own rendered images of the layer
 * instead (each channel normalized by how it responds across all the filter images).
 *
 *   nice npx tsx bench/lucid-filters-zscore.ts --dir bench-out/filters-... [--photos ../shared/photos] [--model DIR] [--border 2]
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { decodeRgb } from '../pipeline/output/images.ts';
import { preActivation } from '../pipeline/render/objectives.ts';
import { toModelInput } from '../pipeline/render/pixels.ts';
import { SHARED_MODELS, SHARED_PHOTOS, arg, loadGraph, wasm } from './lucid-common.ts';

const dir = arg('dir', 'bench-out/filters');
const photos = arg('photos', SHARED_PHOTOS);
const modelDir = arg('model', path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const border = Number(arg('border', '2'));
const reference = arg('reference', 'photos');

await wasm();
const { graph } = await loadGraph(modelDir);
const pixels = { range: [-1, 1] as [number, number] };
const rows = JSON.parse(await fs.readFile(path.join(dir, 'filters.json'), 'utf8')) as { method: string; objective?: string; layer: string; filter: number; size: number }[];
const layer = rows[0]!.layer;

function channelMeans(x: tf.Tensor4D, pre: boolean): number[][] {
  return tf.tidy(() => {
    const input = toModelInput(x, pixels);
    const act = (pre ? preActivation(graph, input, layer) : graph.run(input, [layer])[0]!) as tf.Tensor4D;
    const [b, h, w, c] = act.shape;
    const cut = h > 2 * border && w > 2 * border ? border : 0;
    return tf.mean(cut ? act.slice([0, cut, cut, 0], [b, h - 2 * cut, w - 2 * cut, c]) : act, [1, 2]).arraySync() as number[][];
  });
}

// Reference images: per photo, 6 crops × 2 flips at the experiment's image size.
const size = rows[0]!.size;
const files = (await fs.readdir(photos)).filter((f) => /\.(png|jpe?g)$/i.test(f));
const boxes = [
  [0, 0, 1, 1],
  [0.125, 0.125, 0.875, 0.875],
  [0, 0, 0.75, 0.75],
  [0.25, 0.25, 1, 1],
  [0, 0.25, 0.75, 1],
  [0.25, 0, 1, 0.75],
];
const refs: number[][][] = [[], []];
for (const f of files) {
  const { rgb, width, height } = await decodeRgb(path.join(photos, f), [2 * size, 2 * size]);
  const crops = tf.tidy(() => {
    const img = tf.tensor4d(Float32Array.from(rgb, (v) => v / 127.5 - 1), [1, height, width, 3]);
    const c = tf.image.cropAndResize(img, boxes, boxes.map(() => 0), [size, size]);
    return tf.concat([c, tf.reverse(c, 2)]) as tf.Tensor4D;
  });
  refs[0]!.push(...channelMeans(crops, false));
  refs[1]!.push(...channelMeans(crops, true));
  crops.dispose();
}
function statsOf(ref: number[][]): { mu: number[]; sd: number[] } {
  const c = ref[0]!.length;
  const mu = Array.from({ length: c }, (_, k) => ref.reduce((a, r) => a + r[k]!, 0) / ref.length);
  const sd = Array.from({ length: c }, (_, k) => Math.sqrt(ref.reduce((a, r) => a + (r[k]! - mu[k]!) ** 2, 0) / ref.length));
  const median = [...sd].sort((a, b) => a - b)[Math.floor(c / 2)]!;
  return { mu, sd: sd.map((s) => Math.max(s, median)) };
}
const photoStats = refs.map(statsOf);

const groups = new Map<string, { filter: number; method: string }[]>();
for (const r of rows) groups.set(`${r.method} (${r.objective ?? ''})`, [...(groups.get(`${r.method} (${r.objective ?? ''})`) ?? []), r]);
console.log(`${dir}: ${layer}, reference: ${reference === 'rendered' ? 'the rendered images' : `${refs[0]!.length} crops of ${files.length} photos`}`);
for (const [name, units] of groups) {
  const counts = [0, 0];
  const acts: number[][][] = [[], []];
  for (const u of units) {
    const { rgb, width, height } = await decodeRgb(path.join(dir, u.method, `${u.filter}.png`));
    const x = tf.tensor4d(Float32Array.from(rgb, (v) => v / 127.5 - 1), [1, height, width, 3]);
    for (const v of [0, 1]) acts[v]!.push(channelMeans(x, v === 1)[0]!);
    x.dispose();
  }
  const stats = reference === 'rendered' ? acts.map(statsOf) : photoStats;
  units.forEach((u, i) => {
    for (const v of [0, 1]) {
      const a = acts[v]![i]!;
      const z = a.map((val, k) => (val - stats[v]!.mu[k]!) / stats[v]!.sd[k]!);
      if (z.every((s, k) => k === u.filter || s < z[u.filter]!)) counts[v]!++;
    }
  });
  console.log(`  ${name}: target has the highest ${reference} z-score — layer output ${counts[0]}/${units.length} (${((100 * counts[0]!) / units.length).toFixed(1)}%), pre-activation ${counts[1]}/${units.length} (${((100 * counts[1]!) / units.length).toFixed(1)}%)`);
}
