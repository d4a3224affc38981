/**
 * The quality bench's test model (bench/shuffled-model.ts): MobileNet v1 0.25 taking [0, 1] pixels
 * with its classes permuted, written as an ordinary model folder and loaded as an atlas loads it,
 * scores exactly what its source scores on the same picture, under the permuted class ids and labels.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { permutation, writeShuffledModel } from '../bench/shuffled-model.ts';
import { loadConfig } from '../pipeline/config/load.ts';
import { prepareAtlas } from '../pipeline/run/prepare.ts';
import { M025, MODELS, sharedGraph, tempDir, writeConfig } from './support/fixtures.ts';

test('a [0, 1], class-permuted MobileNet loads through the model folder and scores as its source does, permuted', async () => {
  const dir = await tempDir('shuffled-');
  const perm = await writeShuffledModel(path.join(MODELS, M025), path.join(dir, 'm'));
  assert.deepEqual(perm, permutation(1000, 18));
  assert.ok(perm.some((j, i) => j !== i));
  const source = await sharedGraph(M025);
  const file = await writeConfig(dir, 'model: { id: shuffled, source: ./m, pixels: { range: [0, 1] } }\n');
  const ctx = await prepareAtlas(await loadConfig(file), {});
  const labels: string[] = JSON.parse(await fs.readFile(path.join(MODELS, M025, 'labels.json'), 'utf8'));
  assert.deepEqual(
    ctx.labels,
    perm.map((j) => labels[j]),
  );
  assert.deepEqual(ctx.pixels.range, [0, 1]);
  const unit = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const [mine, theirs] = tf.tidy(() => [
    ctx.graph.run(unit, [ctx.outputNode])[0]!.reshape([-1]).arraySync() as number[],
    source
      .run(unit.mul(2).sub(1), [source.nodes.at(-1)!.name])[0]!
      .reshape([-1])
      .arraySync() as number[],
  ]);
  perm.forEach((j, i) => assert.ok(Math.abs(mine[i]! - theirs[j]!) < 1e-5, `class ${i}`));
  tf.dispose(unit);
  ctx.graph.dispose();
  source.dispose();
});
