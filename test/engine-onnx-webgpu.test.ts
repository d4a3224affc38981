/**
 * onnx-webgpu (ONNX Runtime's WebGPU provider) against onnx-cpu on the real MobileNet v1 0.25: a
 * filter's value and input gradient at an early and a mid layer, a pre-activation read and a
 * non-linear head, batch 2. Runs on a hardware adapter as `auto` would take it; with
 * ATLAS_TEST_WEBGPU=1 (CI) forced, so on a machine without a GPU on a software Vulkan adapter
 * (~20 s): ORT's Dawn has only its Vulkan backend on Linux and turns Debian 12's lavapipe (Mesa
 * 22.3) away ("Vulkan shaderUniform*ArrayDynamicIndexing required"), so the backend points the
 * loader at SwiftShader's Vulkan driver, which Debian's chromium package ships. Skips with the
 * backend's reason where neither exists.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { CANDIDATES, selectBackend } from '../pipeline/engine/backend.ts';
import { hasGpuDevice, prepareOrtWebGpu } from '../pipeline/engine/webgpu.ts';
import type { Objective } from '../pipeline/engine/engine.ts';
import { lowerSpec } from '../pipeline/engine/lower.ts';
import { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import { loadOrt } from '../pipeline/engine/onnx/runtime.ts';
import { loadModelSpec } from '../pipeline/model/load.ts';
import { channelObjective, preActivationChannelObjective } from '../pipeline/render/objectives.ts';
import { relErr, rng, sharedModel } from './support/engine.ts';

const file = sharedModel('mobilenet_v1_0.25_224');
const software = process.env.ATLAS_TEST_WEBGPU === '1';
const skip = !file
  ? 'shared models not found'
  : await selectBackend(software ? 'onnx-webgpu' : 'auto', software ? undefined : CANDIDATES.filter((c) => c.name === 'onnx-webgpu')).then(
      () => false as const,
      (err: Error) =>
        `${err.message.split('\n')[0]}${software ? " (ORT's Dawn on Linux is Vulkan only and refuses Mesa 22.3's lavapipe; SwiftShader's Vulkan driver comes with Debian's chromium)" : '; a software adapter runs with ATLAS_TEST_WEBGPU=1'}`,
    );
after(() => setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref());

it('onnx-webgpu gives the values and input gradients of onnx-cpu on MobileNet v1 0.25', { skip }, async () => {
  const ort = await loadOrt();
  const { nodes } = lowerSpec((await loadModelSpec(file!)).spec);
  const cpu = new OnnxEngine(nodes, { ort, provider: 'cpu', threads: 1 });
  const gpu = new OnnxEngine(nodes, { ort, provider: 'webgpu' });
  const r = rng(3);
  const shape = [2, 64, 64, 3] as const;
  const input = Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => r() * 2 - 1);
  const linear = channelObjective('conv_pw_6_relu', [1, 7], 2);
  const tanh: Objective = { ...linear, linear: false, head: (a) => tf.tanh(linear.head(a)) };
  const objectives: [string, Objective][] = [
    ['conv_dw_2_relu', channelObjective('conv_dw_2_relu', [0, 5], 2)],
    ['conv_pw_6_relu', channelObjective('conv_pw_6_relu', [3, 11], 2)],
    ['conv_pw_6_relu pre-activation', preActivationChannelObjective('conv_pw_6_relu', [3, 11], 2)],
    ['tanh of conv_pw_6_relu (non-linear head)', tanh],
  ];
  try {
    for (const [label, objective] of objectives) {
      const run = async (engine: OnnxEngine) => {
        const x = tf.tensor4d(input, [...shape]);
        const { value, grad } = await engine.valueAndGrad(objective, x);
        const out = [(await value.data()) as Float32Array, (await grad.data()) as Float32Array] as const;
        tf.dispose([x, value, grad]);
        return out;
      };
      const [refValue, refGrad] = await run(cpu);
      const [value, grad] = await run(gpu);
      assert.ok(
        refGrad.some((g) => g !== 0),
        `${label}: the reference gradient is not all zero`,
      );
      assert.ok(relErr(value, refValue) < 1e-4, `${label}: value rel err ${relErr(value, refValue)}`);
      assert.ok(relErr(grad, refGrad) < 1e-3, `${label}: gradient rel err ${relErr(grad, refGrad)}`);
    }
  } finally {
    cpu.dispose();
    gpu.dispose();
  }
});

it('auto never takes a software Vulkan adapter; forced without a GPU, the loader is pointed at one', () => {
  const lavapipe = { VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' };
  assert.throws(() => prepareOrtWebGpu(false, { ...lavapipe }), hasGpuDevice() ? /software drivers only/ : /no GPU device/);
  assert.match(prepareOrtWebGpu(true, { ...lavapipe }), /^software Vulkan \(\/usr\/share\/vulkan\/icd\.d\/lvp_icd/);
  if (hasGpuDevice() || process.platform !== 'linux') return; // the rest is about machines without a GPU
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-icd-'));
  try {
    const icd = path.join(dir, 'vk_swiftshader_icd.json');
    fs.writeFileSync(icd, '{}');
    const env: NodeJS.ProcessEnv = {};
    assert.match(prepareOrtWebGpu(true, env, [path.join(dir, 'absent.json'), icd]), /software Vulkan .*no GPU device here/);
    assert.equal(env.VK_ICD_FILENAMES, icd);
    assert.throws(() => prepareOrtWebGpu(true, {}, [path.join(dir, 'absent.json')]), /no software Vulkan driver Dawn accepts \(SwiftShader: install chromium/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
