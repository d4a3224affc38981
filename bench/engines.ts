/**
 * The bench's model sources and the ONNX engine's gradient step, for `bench/cli.ts`:
 * - the trunks of issue 16 (MobileNet v1 0.75 → conv_pw_13_relu, ResNet50V2 → conv3_block4_out,
 *   VGG16 → block5_conv3), the last two built by `architectures.ts` with seeded weights;
 * - one ascent step on a `GradientEngine`: the lecture's channel objective (border 2, redirected
 *   ReLU) as an engine objective, then the lecture's normalized update in TF.js;
 * - the same step chained on the ONNX engine: K steps per call of one compiled model
 *   (`engine/onnx/chain.ts`), the state fed back as ORT tensors, no frames asked for.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import type { GradientEngine } from '../pipeline/engine/engine.ts';
import { compileChain } from '../pipeline/engine/onnx/chain.ts';
import { chainStepOf } from '../pipeline/engine/onnx/chain-methods.ts';
import type { OnnxEngine } from '../pipeline/engine/onnx/engine.ts';
import type { OrtTensor } from '../pipeline/engine/onnx/runtime.ts';
import type { RenderPlan } from '../pipeline/render/method.ts';
import { normalizedAscent } from '../pipeline/render/optimizers.ts';
import { pixelImage } from '../pipeline/render/param/index.ts';
import { specFromLayersModel } from '../pipeline/model/from-layers.ts';
import { loadModelSpec } from '../pipeline/model/load.ts';
import type { ModelSpec } from '../pipeline/model/spec.ts';
import { channelObjective } from '../pipeline/render/objectives.ts';
import { resnet50v2, vgg16 } from './architectures.ts';

export const M75 = 'mobilenet_v1_0.75_224';
export const M25 = 'mobilenet_v1_0.25_224';
export const RESNET = 'resnet50v2';
export const VGG = 'vgg16';

/** The three trunks and their target layers. */
export const TRUNKS = [
  { model: M75, layer: 'conv_pw_13_relu' },
  { model: RESNET, layer: 'conv3_block4_out' },
  { model: VGG, layer: 'block5_conv3' },
] as const;

/**
 * The model description of a bench model: a shared model's files, or an architecture built in code
 * (224 px, seed 1). Undefined when a shared model is missing.
 */
export async function benchSpec(model: string, modelsDir: string): Promise<ModelSpec | undefined> {
  const build = model === RESNET ? () => resnet50v2({ until: 'conv3' }) : model === VGG ? () => vgg16() : undefined;
  if (build) {
    const layers = build();
    const spec = specFromLayersModel(layers);
    layers.dispose();
    return spec;
  }
  const file = path.join(modelsDir, model, 'model.json');
  return fs.existsSync(file) ? (await loadModelSpec(file)).spec : undefined;
}

/** The middle value (the upper one of the middle two for an even count): the bench's timings are medians. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median ms of `steps` ascent steps on an engine (after one untimed step, which compiles). */
export async function timeEngineStep(engine: GradientEngine, layer: string, size: number, batch: number, steps: number): Promise<number> {
  const objective = channelObjective(
    layer,
    Array.from({ length: batch }, (_, i) => i),
    2,
    true,
  );
  let x = tf.randomUniform([batch, size, size, 3], -0.1, 0.1) as tf.Tensor4D;
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const { value, grad } = await engine.valueAndGrad(objective, x);
    const next = tf.tidy(() => x.add(grad.div(tf.sqrt(tf.sum(tf.square(grad), [1, 2, 3], true)).add(1e-8))) as tf.Tensor4D);
    await value.data();
    tf.dispose([value, grad, x]);
    x = next;
    if (i > 0) times.push(performance.now() - t0);
  }
  x.dispose();
  return median(times);
}

/**
 * Median ms per step of `calls` calls of `k` chained ascent steps on the ONNX engine (after one
 * untimed call, which compiles): the same objective and update as `timeEngineStep`.
 */
export async function timeChainedStep(engine: OnnxEngine, layer: string, size: number, batch: number, k: number, calls: number): Promise<number> {
  const objective = channelObjective(
    layer,
    Array.from({ length: batch }, (_, i) => i),
    2,
    true,
  );
  const units = Array.from({ length: batch }, (_, i) => ({ key: `u${i}`, seed: i }));
  const plan: RenderPlan = {
    units,
    objective,
    size: [size, size],
    steps: k,
    frameEvery: 1,
    parameterization: pixelImage(),
    optimizer: normalizedAscent(1),
    l2: 0,
    deprocess: { mode: 'clip', crop: 0 },
    chain: { method: 'lecture', options: { stepSize: 1, projected: false } },
  };
  const chain = { plan, pixels: { range: [-1, 1] as [number, number] }, inputShape: [size, size, 3] as [number, number, number] };
  const step = chainStepOf(chain);
  if (typeof step === 'string') throw new Error(step);
  // As the render loop runs it: on the CPU provider on several threads, the batch in slices side by side.
  const { session, shapes } = await engine.session(
    `bench-chain|${layer}|${size}|${k}`,
    () => {
      const c = compileChain(engine.nodes, objective.read, step, chain, k);
      return { model: c.model, shapes: [c.featureShape], batchAxes: c.batchAxes };
    },
    batch,
  );
  const { Tensor } = engine.options.ort;
  const featureShape = [batch, ...shapes[0]!];
  const { dA, offset } = engine.linearHead(objective, featureShape);
  const x = tf.randomUniform([batch, size, size, 3], -0.1, 0.1);
  let params: OrtTensor = new Tensor('float32', x.dataSync() as Float32Array, x.shape);
  x.dispose();
  const fixed = {
    dA: new Tensor('float32', dA, featureShape),
    offset: new Tensor('float32', offset, [batch]),
    active: new Tensor('float32', new Float32Array(batch).fill(1), [batch]),
    frameAt: new Tensor('float32', new Float32Array(0), [0]),
  };
  const times: number[] = [];
  for (let i = 0; i <= calls; i++) {
    const t0 = performance.now();
    const out = await engine.runTensors(session, { params, ...fixed });
    params = out.params_out!;
    if (i > 0) times.push((performance.now() - t0) / k);
  }
  return median(times);
}
