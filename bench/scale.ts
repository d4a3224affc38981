/**
 * `npx tsx bench/scale.ts [--speedup S] [--overhead F] [--merge-ms M]`: projected wall times of big jobs (bench/README.md).
 *
 * Measures here (wasm, MobileNet v1 0.75, 224 px, batch 1) the seconds of one gradient step up to
 * every ReLU layer, fits seconds = a + b × the shard cost model's MACs (`shard.ts` stepCost) to
 * them, and projects the wall time of three jobs on 1 core, 2 workers here, a 16-core machine,
 * 20 Actions runners and a 64-task Slurm array. What it cannot measure here is passed in
 * (defaults: the measurements in bench/history.md, "Scale on paper"): S, 2 workers' speed-up over one core (CPU time of the
 * process tree over wall time, `/usr/bin/time` on `--workers 2`); F, a unit's CPU seconds over its
 * steps' seconds (frames, quality numbers, encoding); M, the merge's milliseconds per unit.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../pipeline/config/load.ts';
import { engineStepTimer } from '../pipeline/engine/batch-size.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { loadModel } from '../pipeline/model/load.ts';
import { stepCost } from '../pipeline/shard.ts';
import { SHARED_MODELS } from './lucid-common.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const num = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const speedup = num('speedup', 1.9);
const overhead = num('overhead', 1.51);
const mergeMs = num('merge-ms', 52);
const models = SHARED_MODELS;

await selectBackend('wasm');
const { graph } = await loadModel(path.join(models, 'mobilenet_v1_0.75_224', 'model.json'));
const engine = tfjsEngine(graph);
const size: [number, number] = [224, 224];
const relus = graph.nodes.filter((n) => /_relu$/.test(n.name) && n.outputShape.length === 3);
const last = graph.nodes[graph.nodes.length - 1]!.name;

// Measured: seconds per unit-step per layer.
const measured = new Map<string, number>();
for (const n of [...relus.map((r) => r.name), last]) measured.set(n, (await engineStepTimer(engine, n, size, graph.inputShape[2], 5)(1)) / 1000);
const x = [...measured.keys()].map((n) => stepCost(graph, n, size));
const y = [...measured.values()];
const mx = x.reduce((a, b) => a + b) / x.length;
const my = y.reduce((a, b) => a + b) / y.length;
const b = x.reduce((s, xi, i) => s + (xi - mx) * (y[i]! - my), 0) / x.reduce((s, xi) => s + (xi - mx) ** 2, 0);
const a = my - b * mx;
console.log('| layer | channels | MACs (cost model) | s/unit-step measured | fit |');
console.log('|---|---|---|---|---|');
for (const [n, s] of measured) {
  const c = stepCost(graph, n, size);
  const ch = graph.nodes.find((g) => g.name === n)!.outputShape.at(-1);
  console.log(`| ${n} | ${ch} | ${(c / 1e6).toFixed(0)} M | ${s.toFixed(3)} | ${(a + b * c).toFixed(3)} |`);
}
console.log(`\nfit: s/step = ${a.toFixed(4)} + ${(b * 1e9).toFixed(3)} × GMACs`);

// The jobs, as unit-steps at each target.
const { config } = await loadConfig(path.join(root, 'atlas.config.yaml'));
const perStep = (target: string) => measured.get(target) ?? a + b * stepCost(graph, target, size);
const jobs: { name: string; units: number; seconds: number; longest: number }[] = [];
const job = (name: string, parts: { target: string; units: number; steps: number }[], s = perStep) => {
  const seconds = parts.reduce((t, p) => t + p.units * p.steps * s(p.target) * overhead, 0);
  jobs.push({ name, units: parts.reduce((t, p) => t + p.units, 0), seconds, longest: Math.max(...parts.map((p) => p.steps * s(p.target) * overhead)) });
};
job('(a) default atlas (atlas.config.yaml)', [
  ...Object.keys(config.layers).map((target) => ({ target, units: 16, steps: config.render.lecture.filters.steps })),
  { target: last, units: config.classes.length, steps: config.render.lecture.classes.steps },
]);
job(
  '(b) every filter of MobileNet v1 0.75 (27 ReLU layers, 30 steps)',
  relus.map((r) => ({ target: r.name, units: r.outputShape.at(-1) as number, steps: 30 })),
);
// ResNet50V2 up to conv3_block4_out: ≈ 1.48 GMACs at 224 (counted by hand from the architecture:
// conv1 0.12, conv2_x 0.54, conv3_x 0.82); priced by the fit above (projected, not measured).
job('(c) notes: ResNet50V2 conv3_block4_out, 512 filters × 300 steps', [{ target: 'resnet', units: 512, steps: 300 }], () => a + b * 1.48e9);

const fmt = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);
const perWorker = speedup / 2;
// Columns: a machine with one core; this one with 2 workers; then n workers at the same efficiency.
const columns: [string, (j: (typeof jobs)[number]) => number][] = [
  ['1 core', (j) => j.seconds],
  ['2 workers here', (j) => j.seconds / speedup],
  ['16 cores', (j) => Math.max(j.seconds / (16 * perWorker), j.longest)],
  // 20 runners × 2 workers; + ~3 min of runner start, npm ci, artifacts and the merge job.
  ['20 Actions runners', (j) => Math.max(j.seconds / (40 * perWorker), j.longest) + 180 + (j.units * mergeMs) / 1000],
  // 64 tasks × 4 CPUs; + ~1 min of start and the merge job's own start.
  ['64-task Slurm array', (j) => Math.max(j.seconds / (256 * perWorker), j.longest) + 60 + (j.units * mergeMs) / 1000],
];
console.log(`\nprojected wall time (overhead ×${overhead}, 2-worker speed-up ${speedup}, merge ${mergeMs} ms/unit)\n`);
console.log(`| job | units | ${columns.map((c) => c[0]).join(' | ')} |`);
console.log(`|---|---|${columns.map(() => '---').join('|')}|`);
for (const j of jobs) console.log(`| ${j.name} | ${j.units} | ${columns.map(([, f]) => fmt(f(j))).join(' | ')} |`);
graph.dispose();
