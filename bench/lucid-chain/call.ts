/**
 * One chained lucid call on onnx-cpu, timed by this process's CPU time (user + system): the job's
 * filter batch (MobileNet v1 0.75 → conv_pw_6_relu 0–3, 224 px, batch 4) or its class batch
 * (`--classes`), K steps per call (default 8). Compiles the model once, runs `--runs` calls on the
 * same feeds after one untimed call, prints the median CPU and wall ms per call. `--profile` turns
 * on ORT's profile (a temporary JSON file, deleted after) and prints kernel time by op type, and with
 * `--nodes` by op and output shape; the profile counts the untimed call too, and under load its
 * kernel times include time spent descheduled. Session knobs to compare: `--level` (ORT's
 * graphOptimizationLevel, default all), `--threads N` (intra-op threads), `--no-spin`.
 *
 *   ATLAS_MODELS=../shared/models node --import tsx bench/lucid-chain/call.ts [--classes] [--k 8] [--runs 3] [--profile [--nodes]]
 */
import fs from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../pipeline/config/schema.ts';
import { compileChain } from '../../pipeline/engine/onnx/chain.ts';
import { chainStepOf } from '../../pipeline/engine/onnx/chain-methods.ts';
import type { ChainContext, OnnxStep } from '../../pipeline/engine/onnx/chain-step.ts';
import { OnnxEngine } from '../../pipeline/engine/onnx/engine.ts';
import { loadOrt, type OrtTensor } from '../../pipeline/engine/onnx/runtime.ts';
import { lucidMethod } from '../../pipeline/render/methods/lucid.ts';
import { median } from '../engines.ts';
import { arg, loadGraph, SHARED_MODELS, wasm } from '../lucid-common.ts';

const classes = process.argv.includes('--classes');
const profile = process.argv.includes('--profile');
const k = Number(arg('k', '8'));
const runs = Number(arg('runs', '3'));
const SIZE: [number, number] = [224, 224];

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await wasm();
const { graph, logitNode } = await loadGraph(path.join(SHARED_MODELS, 'mobilenet_v1_0.75_224'));
const ort = await loadOrt();
const engine = new OnnxEngine(graph.lowered, { ort, provider: 'cpu' });
const kind = classes ? 'class' : 'filter';
const node = classes ? logitNode : 'conv_pw_6_relu';
const indices = classes ? [141, 1, 967, 980] : [0, 1, 2, 3];
const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { methods: ['lucid'] } });
const settings = lucidMethod.settings(config, kind, { size: SIZE, capped: !classes });
const objective = lucidMethod.objective(settings, { kind, node, indices, isLogit: true });
const plan = lucidMethod.plan(
  settings,
  indices.map((i) => ({ key: `lucid/${kind}/${node}/${i}`, seed: 2000 + i })),
  objective,
);
const pixels = { range: [-1, 1] as [number, number] };
const chain: ChainContext = { plan, pixels, inputShape: [SIZE[0], SIZE[1], 3] };
const step = chainStepOf(chain) as OnnxStep;
const t0 = performance.now();
const compiled = compileChain(engine.nodes, objective.read, step, chain, k);
const session = await ort.InferenceSession.create(compiled.model, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: arg('level', 'all') as 'all',
  executionMode: 'sequential',
  interOpNumThreads: 1,
  ...(process.argv.includes('--threads') ? { intraOpNumThreads: Number(arg('threads', '0')) } : {}),
  ...(process.argv.includes('--no-spin') ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  ...(profile ? { enableProfiling: true, profileFilePrefix: `/tmp/lucidspeed-ort-${process.pid}` } : {}),
} as Parameters<typeof ort.InferenceSession.create>[1]);
console.log(`model ${(compiled.model.length / 2 ** 20).toFixed(1)} MiB, compile + session ${(performance.now() - t0).toFixed(0)} ms`);

const B = indices.length;
const T = (data: Float32Array, dims: number[]): OrtTensor => new ort.Tensor('float32', data, dims);
const init = plan.parameterization.init(plan.units, SIZE);
const { dA, offset } = engine.linearHead(objective, [B, ...compiled.featureShape]);
const steps = Array.from({ length: k }, (_, j) => j);
const stepValues = step.stepFeeds!(steps);
const feeds: Record<string, OrtTensor> = {
  ...Object.fromEntries(step.state.map((s, i) => [s.name, T(i === 0 ? (init.dataSync() as Float32Array) : new Float32Array(B * s.shape.reduce((a, b) => a * b, 1)), [B, ...s.shape])])),
  dA: T(dA, [B, ...compiled.featureShape]),
  offset: T(offset, [B]),
  active: T(new Float32Array(B).fill(1), [B]),
  frameAt: T(Float32Array.of(0), [1]),
};
step.stepInputs!.forEach((s, i) => (feeds[s.name] = T(stepValues[i]!, s.perUnit ? [k, B, ...s.shape] : [k, ...s.shape])));

await session.run(feeds);
const cpu: number[] = [];
const wall: number[] = [];
for (let r = 0; r < runs; r++) {
  const [c0, w0] = [cpuMs(), performance.now()];
  await session.run(feeds);
  cpu.push(cpuMs() - c0);
  wall.push(performance.now() - w0);
}
console.log(`${kind}s K=${k} batch ${B}: CPU ${median(cpu).toFixed(0)} ms/call (${(median(cpu) / k).toFixed(0)} per step), wall ${median(wall).toFixed(0)} ms/call  [cpu ${cpu.map((x) => x.toFixed(0))}]`);

if (profile) {
  (session as unknown as { endProfiling(): void }).endProfiling();
  const file = fs
    .readdirSync('/tmp')
    .filter((f) => f.startsWith(`lucidspeed-ort-${process.pid}`))
    .map((f) => path.join('/tmp', f))[0]!;
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    total += e.dur;
  }
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`${op.padEnd(22)} ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1)} %`);
  if (process.argv.includes('--nodes')) {
    const byNode = new Map<string, number>();
    for (const e of events as { cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: unknown } }[]) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const key = `${e.args?.op_name} ${JSON.stringify(e.args?.output_type_shape)}`;
      byNode.set(key, (byNode.get(key) ?? 0) + e.dur);
    }
    for (const [key, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(us / 1000).toFixed(0).padStart(6)} ms ${key}`);
  }
  fs.unlinkSync(file);
}
await session.release();
engine.dispose();
