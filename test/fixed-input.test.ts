/**
 * A model that takes one input size (a Flatten of a feature map into a Dense): lucid's transforms,
 * which enlarge the image (pad 12, less two jitters), end at the model's size, so lucid renders
 * on it; a model that takes any size keeps Lucid's geometry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fixedInputSize } from '../pipeline/engine/lower.ts';
import { loadModel } from '../pipeline/model/load.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { randomAffine, STANDARD_TRANSFORMS } from '../pipeline/render/affine.ts';
import { runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { modelsDir, sharedModel } from './support/engine.ts';

const MNIST = path.join(modelsDir(), 'keras', 'mnist_cnn', 'model.keras');
const MOBILENET = sharedModel('mobilenet_v1_0.25_224');

describe('models that take one input size', { skip: fs.existsSync(MNIST) && MOBILENET ? false : 'the shared MNIST or MobileNet 0.25 model is missing' }, () => {
  it('are recognized by their Flatten of a feature map', async () => {
    const mnist = (await loadModel(MNIST)).graph;
    const mobilenet = (await loadModel(MOBILENET!)).graph;
    try {
      assert.deepEqual(fixedInputSize(mnist.lowered, mnist.inputName, mnist.inputShape), [28, 28]);
      // MobileNet reshapes only its pooled [1, 1, C] features: any size works.
      assert.equal(fixedInputSize(mobilenet.lowered, mobilenet.inputName, mobilenet.inputShape), undefined);
    } finally {
      mnist.dispose();
      mobilenet.dispose();
    }
  });

  it("a transform's output is the fixed size when given, Lucid's enlarged window otherwise", () => {
    assert.deepEqual(randomAffine(7, [28, 28], STANDARD_TRANSFORMS).out, [28 + 24 - 8 - 4, 28 + 24 - 8 - 4]);
    const fixed = randomAffine(7, [28, 28], STANDARD_TRANSFORMS, [28, 28]);
    const free = randomAffine(7, [28, 28], STANDARD_TRANSFORMS);
    assert.deepEqual(fixed.out, [28, 28]);
    // The same random draw: only the window differs.
    assert.deepEqual([fixed.scale, fixed.angle, fixed.shift1, fixed.shift2], [free.scale, free.angle, free.shift1, free.shift2]);
  });

  it('lucid renders the MNIST classifier, filters and classes', async () => {
    const dir = await tempDir();
    const config = await writeConfig(
      dir,
      `model:
  id: mnist
  source: ${JSON.stringify(MNIST)}
layers:
  conv2d_7: 0-1
classes: ["3", "7"]
render:
  methods: [lucid]
  lucid: { steps: 8, frameEvery: 4, classes: { maxSteps: 8 } }
output: out
`,
    );
    const run = await runCli(['pipeline', '--config', config, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const m = JSON.parse(await fsp.readFile(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(m.units.length, 4);
    for (const u of m.units) {
      assert.equal(u.status, 'ok', `${u.key}: ${u.error}`);
      assert.deepEqual([u.width, u.height], [28, 28]);
      assert.ok(u.finalObjective > u.startObjective, `${u.key}: ${u.startObjective} → ${u.finalObjective}`);
    }
  });
});
