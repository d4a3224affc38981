/**
 * Class experiment for issue 6: renders classes with the lecture and the lucid method on one model,
 * then measures on that model top-1/top-5 and the jittered/scaled-copy rates (render/quality.ts),
 * and on a second model top-5 (transfer). Results go to <out>/classes.json after every batch;
 * images to <out>/<method>/<class>.png.
 *
 *   nice npx tsx bench/lucid-classes.ts --out bench-out/classes --steps 512 --classes 1,9,22,...
 *     [--model DIR] [--transfer DIR] [--size 224] [--batch 4] [--methods lecture,lucid] [--seed 0] [--view image|window]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '../pipeline/output/images.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import { METHODS } from '../pipeline/render/methods/index.ts';
import { classQuality } from '../pipeline/render/quality.ts';
import { unitSeed } from '../pipeline/render/seed.ts';
import { SHARED_MODELS, arg, loadGraph, wasm } from './lucid-common.ts';

export const DEFAULT_CLASSES = [1, 9, 22, 76, 130, 145, 207, 291, 309, 323, 340, 388, 417, 430, 483, 817, 949, 954, 963, 980];

const out = arg('out', 'bench-out/classes');
const modelDir = arg('model', path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const transferDir = arg('transfer', path.join(SHARED_MODELS, 'mobilenet_v1_0.25_224'));
const classes = arg('classes', DEFAULT_CLASSES.join(',')).split(',').map(Number);
const lucidSteps = Number(arg('steps', '512'));
const size = Number(arg('size', '224'));
const batchSize = Number(arg('batch', '4'));
const methods = arg('methods', 'lecture,lucid').split(',');
const seed = Number(arg('seed', '0'));
/** What lucid's model sees (`render.lucid.transforms.view`). */
const view = arg('view', 'image');

await wasm();
const main = await loadGraph(modelDir);
const transfer = await loadGraph(transferDir);
const pixels = { range: [-1, 1] as [number, number] };
// The atlas defaults for classes (lecture 40 steps, step 100, L2 1e-6, clipped), one frame per run.
const config = configSchema.parse({
  model: { id: 'bench', source: modelDir },
  render: { lecture: { classes: { steps: 40 }, frameEvery: 40 }, lucid: { steps: lucidSteps, frameEvery: lucidSteps, transforms: { view } } },
});
const file = path.join(out, 'classes.json');
await fs.mkdir(out, { recursive: true });
const results: Record<string, unknown>[] = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '[]'));
const done = new Set(results.map((r) => `${r.method}/${r.class}`));

for (const method of methods) {
  const todo = classes.filter((c) => !done.has(`${method}/${c}`));
  for (let i = 0; i < todo.length; i += batchSize) {
    const group = todo.slice(i, i + batchSize);
    const units = group.map((c) => ({ key: `${method}/class/${c}`, seed: unitSeed(seed, `${method}/class/${c}`) }));
    const m = METHODS[method]!;
    const settings = m.settings(config, 'class', { size: [size, size], capped: false });
    const objective = m.objective(settings, { kind: 'class', node: main.logitNode, indices: group, isLogit: true });
    const t0 = performance.now();
    const rendered = await renderBatch(m.plan(settings, units, objective), { engine: tfjsEngine(main.graph), pixels });
    const seconds = (performance.now() - t0) / 1000;
    const { width, height } = rendered[0]!;
    const images = rendered.map((r) => r.image);
    const q = await classQuality(
      main.graph,
      pixels,
      main.outputNode,
      images,
      width,
      height,
      group,
      units.map((u) => u.seed),
    );
    const qt = await classQuality(
      transfer.graph,
      pixels,
      transfer.outputNode,
      images,
      width,
      height,
      group,
      units.map((u) => u.seed),
    );
    await fs.mkdir(path.join(out, method), { recursive: true });
    for (let j = 0; j < group.length; j++) {
      await fs.writeFile(path.join(out, method, `${group[j]}.png`), await encodePng(images[j]!, width, height));
      const r = {
        method,
        class: group[j],
        label: main.labels[group[j]!],
        steps: settings.steps,
        size,
        final: rendered[j]!.curve.at(-1),
        quality: q[j],
        transfer: { top5: qt[j]!.top5, top1IsTarget: qt[j]!.top1IsTarget, top5HasTarget: qt[j]!.top5HasTarget, jitterTop5Rate: qt[j]!.jitterTop5Rate },
        seconds: seconds / group.length,
      };
      results.push(r);
      console.log(JSON.stringify({ method, class: r.class, label: r.label, top1: q[j]!.top1IsTarget, jitterTop1Rate: q[j]!.jitterTop1Rate, transferTop5: qt[j]!.top5HasTarget, s: r.seconds.toFixed(1) }));
    }
    await fs.writeFile(file, JSON.stringify(results, null, 1));
  }
}
