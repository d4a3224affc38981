/**
 * The render loop's optimizers against their textbook forms: Adam (ascending, bias-corrected, its
 * corrections folded into scalars) over several steps, and the lecture's normalized step.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { adam, ADAM_DEFAULTS, normalizedAscent } from '../pipeline/render/optimizers.ts';

before(async () => {
  await selectBackend('wasm');
});

test("Adam's update equals lr·m̂/(√v̂ + ε) step by step (ascending)", () => {
  const lr = 0.05;
  const opt = adam({ lr, ...ADAM_DEFAULTS });
  const { beta1: b1, beta2: b2, epsilon: eps } = ADAM_DEFAULTS;
  let params = tf.randomNormal([2, 5], 0, 1, 'float32', 1);
  let p = Array.from(params.dataSync());
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let step = 0; step < 4; step++) {
    // Gradients of very different sizes per coordinate: Adam moves each by about lr regardless.
    const g = tf.randomNormal([2, 5], 0, 10 ** (step - 2), 'float32', 10 + step);
    const gs = Array.from(g.dataSync());
    const next = opt.step(params, g, step);
    const t = step + 1;
    p = p.map((x, i) => {
      m[i] = b1 * m[i]! + (1 - b1) * gs[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * gs[i]! ** 2;
      return x + (lr * (m[i]! / (1 - b1 ** t))) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps);
    });
    const got = Array.from(next.dataSync());
    got.forEach((x, i) => assert.ok(Math.abs(x - p[i]!) < 1e-5, `step ${step}, coordinate ${i}: ${x} vs ${p[i]}`));
    tf.dispose([params, g]);
    params = next;
  }
  params.dispose();
  opt.dispose();
});

test('the normalized step moves each image by stepSize along its gradient', () => {
  const params = tf.zeros([2, 3, 3, 1]);
  const grad = tf.randomNormal([2, 3, 3, 1], 0, 1, 'float32', 4);
  const next = normalizedAscent(0.5).step(params, grad, 0);
  const norms = tf.sqrt(tf.sum(tf.square(next), [1, 2, 3])).dataSync();
  norms.forEach((n) => assert.ok(Math.abs(n - 0.5) < 1e-5, String(n)));
  tf.dispose([params, grad, next]);
});
