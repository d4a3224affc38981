/**
 * Dataset examples, the math: receptive fields against a brute-force perturbation on MobileNet,
 * the bounded top-K against a full sort, and a synthetic-image ranking (stripes) through the
 * dataset's own decode, pixel mapping and forward pass.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { photoStats, PRE_MEAN, STATS_PER_CHANNEL } from '../pipeline/dataset/activations.ts';
import { decodePhoto, modelCrop } from '../pipeline/dataset/photos.ts';
import { fieldBox, receptiveField } from '../pipeline/dataset/receptive-field.ts';
import { TopK } from '../pipeline/dataset/topk.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { evaluate, preActivation } from '../pipeline/engine/tfjs-engine.ts';
import { preActivationChannelObjective } from '../pipeline/render/objectives.ts';
import { prng } from '../pipeline/render/seed.ts';
import { M075, sharedGraph, tempDir } from './support/fixtures.ts';

let graph: LeanGraph;
const SIZE: [number, number] = [224, 224];

before(async () => {
  graph = await sharedGraph(M075, 'wasm');
});

/** Positions [row, col] of `layer` whose pre-activation changes (any channel) when input pixel (y, x) changes. */
function changedPositions(layer: string, y: number, x: number): { rows: number[]; cols: number[]; set: Set<string> } {
  const [h, w] = SIZE;
  const rand = prng(7);
  const base = Float32Array.from({ length: h * w * 3 }, () => rand() * 2 - 1);
  const bumped = base.slice();
  for (let c = 0; c < 3; c++) bumped[(y * w + x) * 3 + c] = -Math.sign(base[(y * w + x) * 3 + c]!) * 0.95;
  const diff = tf.tidy(() => {
    const a = preActivation(graph, tf.tensor4d(base, [1, h, w, 3]), layer);
    const b = preActivation(graph, tf.tensor4d(bumped, [1, h, w, 3]), layer);
    return tf.max(tf.abs(tf.sub(a, b)), [0, 3]);
  });
  const d = diff.arraySync() as number[][];
  diff.dispose();
  const set = new Set<string>();
  d.forEach((row, r) => row.forEach((v, c) => v > 0 && set.add(`${r},${c}`)));
  const pts = [...set].map((s) => s.split(',').map(Number) as [number, number]);
  return { rows: pts.map((p) => p[0]), cols: pts.map((p) => p[1]), set };
}

describe('receptive field from the lean graph ops', () => {
  for (const layer of ['conv_pw_1_relu', 'conv_pw_2_relu', 'conv_pw_5_relu']) {
    it(`${layer}: the positions one input pixel changes are exactly those whose box holds it`, () => {
      const field = receptiveField(graph.nodes, layer);
      assert.ok(field, 'a field for a conv layer');
      const [mh, mw] = graph.nodes.find((n) => n.name === layer)!.outputShape as number[];
      for (const [y, x] of [
        [0, 0],
        [111, 97],
        [223, 5],
      ] as const) {
        const changed = changedPositions(layer, y, x);
        const predicted = new Set<string>();
        for (let r = 0; r < mh!; r++)
          for (let c = 0; c < mw!; c++) {
            const b = fieldBox(field, r, c, SIZE);
            if (y >= b.y && y < b.y + b.height && x >= b.x && x < b.x + b.width) predicted.add(`${r},${c}`);
          }
        assert.ok(changed.set.size > 0, 'the perturbation reaches the layer');
        for (const p of changed.set) assert.ok(predicted.has(p), `${layer} position ${p} changed but its box misses pixel (${y}, ${x})`);
        // The field is not too large either: the outermost predicted positions do change.
        const pr = [...predicted].map((s) => s.split(',').map(Number) as [number, number]);
        assert.deepEqual([Math.min(...changed.rows), Math.max(...changed.rows)], [Math.min(...pr.map((p) => p[0])), Math.max(...pr.map((p) => p[0]))], `rows reached from (${y}, ${x})`);
        assert.deepEqual([Math.min(...changed.cols), Math.max(...changed.cols)], [Math.min(...pr.map((p) => p[1])), Math.max(...pr.map((p) => p[1]))], `cols reached from (${y}, ${x})`);
      }
    });
  }

  it('a deep layer sees more than the image; boxes are clipped to it', () => {
    const field = receptiveField(graph.nodes, 'conv_pw_13_relu')!;
    assert.ok(field[0].size > SIZE[0], `conv_pw_13 field ${field[0].size} px`);
    const b = fieldBox(field, 3, 3, SIZE);
    assert.deepEqual([b.x, b.y, b.width, b.height], [0, 0, 224, 224]);
  });

  it('layers after global pooling or a reshape have no field', () => {
    assert.equal(receptiveField(graph.nodes, graph.outputName), undefined);
  });
});

describe('bounded top-K', () => {
  it('keeps exactly the best K of a full sort, ties by key, whatever the order', () => {
    const rand = prng(3);
    const items = Array.from({ length: 500 }, (_, i) => ({ key: `p${String(i).padStart(3, '0')}`, value: Math.round(rand() * 40) / 4 }));
    const expected = [...items].sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1)).slice(0, 9);
    for (const order of [items, [...items].reverse()]) {
      const top = new TopK<string>(9);
      for (const it of order) top.offer(it.value, it.key, () => it.key);
      assert.equal(top.size, 9);
      assert.deepEqual(
        top.sorted().map((e) => [e.key, e.value]),
        expected.map((e) => [e.key, e.value]),
      );
    }
  });

  it('builds an item only when it is kept', () => {
    const top = new TopK<number>(2);
    let built = 0;
    for (const v of [5, 4, 3, 2, 1]) top.offer(v, String(v), () => ++built);
    assert.equal(built, 2);
  });
});

describe('synthetic photos through the dataset pass', () => {
  /** Canonical [-1, 1] stripes, period 8 px, as a [1, h, w, 3] tensor. */
  const stripes = (vertical: boolean) =>
    tf.tidy(() => {
      const line = tf.range(0, SIZE[0]).mod(8).less(4).toFloat().mul(2).sub(1);
      const grid = vertical ? line.reshape([1, SIZE[1]]).tile([SIZE[0], 1]) : line.reshape([SIZE[0], 1]).tile([1, SIZE[1]]);
      return grid.reshape([1, SIZE[0], SIZE[1], 1]).tile([1, 1, 1, 3]) as tf.Tensor4D;
    });

  it('a filter measured to prefer vertical stripes ranks the vertical-stripe PNG above the horizontal one', async () => {
    const layer = 'conv_pw_2_relu';
    const channels = (graph.nodes.find((n) => n.name === layer)!.outputShape as number[])[2]!;
    const all = Array.from({ length: channels }, (_, c) => c);
    // Measured here, on tensors: the channel whose pre-activation mean most prefers vertical stripes.
    const measure = (vertical: boolean) => tf.tidy(() => evaluate(preActivationChannelObjective(layer, all, 2), graph, stripes(vertical).tile([channels, 1, 1, 1]) as tf.Tensor4D).arraySync() as number[]);
    const v = measure(true);
    const h = measure(false);
    const best = all.reduce((a, c) => (v[c]! - h[c]! > v[a]! - h[a]! ? c : a), 0);
    assert.ok(v[best]! > h[best]!, 'some filter prefers vertical stripes');
    // The same stripes as PNG files, through the dataset's decode, crop and forward pass.
    const dir = await tempDir('atlas-stripes-');
    const files = await Promise.all(
      [true, false].map(async (vertical) => {
        const t = stripes(vertical);
        const bytes = Uint8Array.from(t.dataSync(), (x) => Math.round((x + 1) * 127.5));
        t.dispose();
        const file = path.join(dir, `${vertical ? 'vertical' : 'horizontal'}.png`);
        await sharp(bytes, { raw: { width: SIZE[1], height: SIZE[0], channels: 3 } })
          .png()
          .toFile(file);
        return modelCrop(await decodePhoto(await fs.readFile(file)), SIZE);
      }),
    );
    const stats = await photoStats(graph, { range: [-1, 1] }, { layers: [layer], border: 2 }, files, SIZE);
    const value = (i: number) => stats[i]!.layers.get(layer)![best * STATS_PER_CHANNEL + PRE_MEAN]!;
    assert.ok(value(0) > value(1), `filter ${best}: vertical ${value(0)} > horizontal ${value(1)}`);
    assert.ok(Math.abs(value(0) - v[best]!) < 1e-3 * Math.max(1, Math.abs(v[best]!)), 'the pass measures what the objective measures');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
