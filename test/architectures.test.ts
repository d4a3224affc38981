/**
 * The lecture notes' architectures (bench/architectures.ts: keras.applications ResNet50V2 and VGG16
 * with seeded weights), saved as Keras 2 `.h5` and read back: the lean graph equals the
 * LayersModel at the notes' layers and the classifier (cpu backend, 1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { resnet50v2, vgg16 } from '../bench/architectures.ts';
import { buildLeanGraph } from '../pipeline/engine/graph.ts';
import { readKerasH5 } from '../pipeline/model/formats/keras.ts';
import { relErr } from './support/engine.ts';
import { keras2FromLayersModel } from './support/keras-writer.ts';

async function compare(model: tf.LayersModel, size: number, targets: string[]): Promise<void> {
  const graph = buildLeanGraph(await readKerasH5(await keras2FromLayersModel(model), `${model.name}.h5`));
  try {
    for (const t of targets) {
      const [ref, lean] = tf.tidy(() => {
        const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
        const cut = tf.model({ inputs: model.inputs, outputs: model.getLayer(t).output as tf.SymbolicTensor });
        return [(cut.predict(x) as tf.Tensor).dataSync() as Float32Array, graph.run(x, [t])[0]!.dataSync() as Float32Array];
      });
      assert.ok(relErr(lean!, ref!) < 1e-4, `${model.name} ${t}: rel err ${relErr(lean!, ref!)}`);
    }
  } finally {
    graph.dispose();
    model.dispose();
  }
}

before(async () => {
  await tf.setBackend('cpu');
});

it('ResNet50V2 to conv3_block4_out: lean graph = LayersModel (pre-activation BN, strided 1×1 max pool shortcut)', async () => {
  await compare(resnet50v2({ size: 64 }), 64, ['conv2_block1_preact_relu', 'conv2_block3_out', 'conv3_block1_out', 'conv3_block4_out']);
});

it('VGG16 with a narrow classifier: lean graph = LayersModel at block5_conv3 and the logits', async () => {
  await compare(vgg16({ size: 32, includeTop: true, denseUnits: 32 }), 32, ['block1_conv2', 'block5_conv3', 'predictions']);
});
