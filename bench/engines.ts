/**
 * The bench's model sources and the ONNX engine's gradient step, for `bench/cli.ts`:
 * - the trunks of issue 16 (MobileNet v1 0.75 → conv_pw_13_relu, ResNet50V2 → conv3_block4_out,
 *   VGG16 → block5_conv3), the last two built by `architectures.ts` with seeded weights;
 * - one ascent step on a `GradientEngine`: the lecture's channel objective (border 2, redirected
 *   ReLU) as an engine objective, then the lecture's normalized update in TF.js.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import type { GradientEngine } from '../pipeline/engine/engine.ts';
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
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
