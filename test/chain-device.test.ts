/**
 * Chained steps on onnx-webgpu keep the state on the device between calls (ORT 'gpu-buffer' outputs
 * fed back as the next call's inputs, read back through an Identity run) and make the units
 * onnx-cpu makes: MobileNet v1 0.25 at 64 px, lecture filters, 4 steps in calls of 2. Runs on a
 * hardware adapter, or with ATLAS_TEST_WEBGPU=1 on SwiftShader's Vulkan driver (see
 * engine-onnx-webgpu.test.ts); skips with the backend's reason elsewhere.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import { CANDIDATES, selectBackend } from '../pipeline/engine/backend.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { loadOrt, type OrtSession, type OrtTensor } from '../pipeline/engine/onnx/runtime.ts';
import { renderBatchChained } from '../pipeline/render/chain-loop.ts';
import type { RenderContext, RenderPlan } from '../pipeline/render/method.ts';
import { lectureMethod } from '../pipeline/render/methods/lecture.ts';
import { M025, sharedGraph } from './support/fixtures.ts';

const software = process.env.ATLAS_TEST_WEBGPU === '1';
const skip = await selectBackend(software ? 'onnx-webgpu' : 'auto', software ? undefined : CANDIDATES.filter((c) => c.name === 'onnx-webgpu')).then(
  () => false as const,
  (err: Error) => `${err.message.split('\n')[0]}${software ? '' : '; a software adapter runs with ATLAS_TEST_WEBGPU=1'}`,
);
after(() => setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref());

function plan(): RenderPlan {
  const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lecture: { filters: { steps: 4 } } } });
  const settings = lectureMethod.settings(config, 'filter', { size: [64, 64], capped: true });
  const objective = lectureMethod.objective(settings, { kind: 'filter', node: 'conv_pw_5_relu', indices: [2, 9], isLogit: true });
  return lectureMethod.plan(
    settings,
    [2, 9].map((i) => ({ key: `lecture/filter/conv_pw_5_relu/${i}`, seed: 1000 + i })),
    objective,
  );
}

it('chained steps on onnx-webgpu keep their state on the device and equal onnx-cpu', { skip }, async () => {
  const ort = await loadOrt();
  const graph = await sharedGraph(M025);
  const cpu = new OnnxEngine(graph.lowered, { ort, provider: 'cpu', threads: 1 });
  const gpu = new OnnxEngine(graph.lowered, { ort, provider: 'webgpu' });
  const locations: string[] = [];
  const run = gpu.runTensors.bind(gpu);
  gpu.runTensors = async (session: OrtSession, feeds: Record<string, OrtTensor>) => {
    const out = await run(session, feeds);
    if (out.params_out) locations.push((out.params_out as OrtTensor & { location?: string }).location ?? 'cpu');
    return out;
  };
  try {
    const render = (engine: OnnxEngine) => renderBatchChained(plan(), { engine, pixels: { range: [-1, 1] } } as RenderContext, { stepsPerCall: 2 });
    const ref = await render(cpu);
    const got = await render(gpu);
    assert.deepEqual(locations, ['gpu-buffer', 'gpu-buffer'], 'each call leaves the image on the GPU');
    got.forEach((u, i) => {
      const r = ref[i]!;
      assert.equal(u.frames.length, r.frames.length);
      u.curve.forEach((v, j) => assert.ok(Math.abs(v - r.curve[j]!) <= 1e-3 * Math.max(1, Math.abs(r.curve[j]!)), `${u.key} curve[${j}]: ${v} vs ${r.curve[j]}`));
      u.frames.forEach((f, j) => {
        let worst = 0;
        for (let q = 0; q < f.length; q++) worst = Math.max(worst, Math.abs(f[q]! - r.frames[j]![q]!));
        assert.ok(worst <= 1, `${u.key} frame ${j} differs by ${worst}`);
      });
    });
  } finally {
    cpu.dispose();
    gpu.dispose();
    graph.dispose();
  }
});
