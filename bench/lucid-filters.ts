/**
 * Filter experiment for issue 6: renders filters of one layer with the lecture and the lucid
 * method and checks on each final (displayed) image whether the target channel is the layer's most
 * activated channel: by its mean activation z-scored across the layer's channels on that image
 * (equivalently the raw argmax), and, as a second view, after standardizing each channel over all
 * images of the run. Results: <out>/filters.json after every batch; images <out>/<method>/<f>.png.
 *
 *   nice npx tsx bench/lucid-filters.ts --out bench-out/filters --layer conv_pw_6_relu --filters 0,24,... --steps 512
 *     [--model DIR] [--size 224] [--batch 4] [--methods lecture,lucid] [--seed 0] [--border 2]
 *     [--lucid-objective pre|post|cossim]  (lucid: channel mean of the pre-activation (render.lucid default), of the ReLU6 output, or channel × cosine similarity)
 * Both measures are recorded: on the layer's output (ReLU6, ties at 6 possible) and on its pre-activation.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '../pipeline/output/images.ts';
import type { RenderBatch } from '../pipeline/render/method.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';
import { channelCossimObjective, channelObjective, preActivationChannelObjective } from '../pipeline/render/objectives.ts';
import { filterQuality } from '../pipeline/render/quality.ts';
import { unitSeed } from '../pipeline/render/seed.ts';
import { SHARED_MODELS, arg, loadGraph, wasm } from './lucid-common.ts';

const out = arg('out', 'bench-out/filters');
const modelDir = arg('model', path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const layer = arg('layer', 'conv_pw_6_relu');
const filters = arg('filters', Array.from({ length: 16 }, (_, i) => i * 24).join(',')).split(',').map(Number);
const lucidSteps = Number(arg('steps', '512'));
const size = Number(arg('size', '224'));
const batchSize = Number(arg('batch', '4'));
const border = Number(arg('border', '2'));
const methods = arg('methods', 'lecture,lucid').split(',');
const seed = Number(arg('seed', '0'));
const lucidObjective = arg('lucid-objective', 'pre');
/** The lecture's displayed image: its own deprocessing (std 0.15, crop) or the optimized pixels clipped. */
const lectureDeprocess = arg('lecture-deprocess', 'lecture') as 'lecture' | 'clip';

await wasm();
const main = await loadGraph(modelDir);
const pixels = { range: [-1, 1] as [number, number] };
const file = path.join(out, 'filters.json');
await fs.mkdir(out, { recursive: true });
const results: Record<string, unknown>[] = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '[]'));
const done = new Set(results.map((r) => `${r.method}/${r.filter}`));

for (const method of methods) {
  const todo = filters.filter((f) => !done.has(`${method}/${f}`));
  for (let i = 0; i < todo.length; i += batchSize) {
    const group = todo.slice(i, i + batchSize);
    const units = group.map((f) => ({ key: `${method}/filter/${layer}/${f}`, seed: unitSeed(seed, `${method}/filter/${layer}/${f}`) }));
    // The lecture's filter defaults (config/schema.ts render.filters) and lucid's.
    const settings =
      method === 'lecture'
        ? { steps: 30, stepSize: 10, l2: 0, deprocess: lectureDeprocess, crop: 25, frameEvery: 30 }
        : { steps: lucidSteps, stepSize: 0.05, l2: 0, deprocess: 'clip' as const, crop: 0, frameEvery: lucidSteps };
    const objective =
      method !== 'lucid' || lucidObjective === 'post'
        ? channelObjective(layer, group, border, true)
        : lucidObjective === 'cossim'
          ? channelCossimObjective(layer, group, border)
          : preActivationChannelObjective(layer, group, border);
    const batch: RenderBatch = { units, objective, size: [size, size], ...settings };
    const t0 = performance.now();
    const rendered = await METHODS[method]!.render(batch, { graph: main.graph, pixels });
    const seconds = (performance.now() - t0) / 1000;
    const { width, height } = rendered[0]!;
    const q = await filterQuality(main.graph, pixels, layer, rendered.map((r) => r.image), width, height, group, border);
    const pre = await filterQuality(main.graph, pixels, layer, rendered.map((r) => r.image), width, height, group, border, { preActivation: true });
    await fs.mkdir(path.join(out, method), { recursive: true });
    for (let j = 0; j < group.length; j++) {
      await fs.writeFile(path.join(out, method, `${group[j]}.png`), await encodePng(rendered[j]!.image, width, height));
      const r = { method, layer, filter: group[j], steps: settings.steps, size, final: rendered[j]!.curve.at(-1), objective: method === 'lucid' ? lucidObjective : `post, deprocess ${lectureDeprocess}`, rank: q[j]!.rank, z: q[j]!.z, top: q[j]!.top, means: q[j]!.means, pre: { rank: pre[j]!.rank, z: pre[j]!.z, top: pre[j]!.top, means: pre[j]!.means }, seconds: seconds / group.length };
      results.push(r);
      console.log(JSON.stringify({ method, filter: r.filter, rank: r.rank, z: r.z.toFixed(2), top: r.top, preRank: r.pre.rank, preZ: r.pre.z.toFixed(2), s: r.seconds.toFixed(1) }));
    }
    await fs.writeFile(file, JSON.stringify(results, null, 1));
  }
}
