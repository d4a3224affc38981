/** Quality numbers (render/quality.ts) on a real model and photo (MobileNet v1 0.25, wasm). */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { decodeRgb } from '../pipeline/output/images.ts';
import { classQuality, copyTransforms, filterQuality, filterQualityRecords } from '../pipeline/render/quality.ts';
import { M025, PHOTOS, sharedGraph } from './support/fixtures.ts';

const SHARED = path.dirname(PHOTOS);
const pixels = { range: [-1, 1] as [number, number] };
let graph: LeanGraph;
let outputNode: string;

before(async () => {
  graph = await sharedGraph(M025);
  outputNode = graph.nodes[graph.nodes.length - 1]!.name;
});
after(() => graph.dispose());

test('copy transforms are seeded, ±8 px and scale 0.9–1.1', () => {
  const a = copyTransforms(42, [224, 224]);
  assert.equal(a.length, 16);
  assert.deepEqual(copyTransforms(42, [224, 224]), a);
  assert.notDeepEqual(copyTransforms(43, [224, 224]), a);
  for (const t of a) {
    assert.ok(t.shift2.every((v) => Number.isInteger(v) && Math.abs(v) <= 8));
    assert.ok(t.scale >= 0.9 && t.scale <= 1.1);
    assert.equal(t.angle, 0);
  }
});

test('a photo keeps its class on its jittered copies; noise is no class', async () => {
  const { rgb } = await decodeRgb(path.join(SHARED, 'photos', 'chelsea.png'), [224, 224]);
  const noise = Uint8Array.from(tf.randomUniform([224 * 224 * 3], 0, 256, 'int32', 1).dataSync());
  const [cat, rand] = await classQuality(graph, pixels, outputNode, [rgb, noise], 224, 224, [281, 281], [7, 7]);
  assert.ok(cat!.top5HasTarget, `chelsea top-5 ${cat!.top5}`);
  assert.equal(cat!.copies, 16);
  assert.ok(cat!.jitterTop5Rate >= 0.75, `copies top-5 rate ${cat!.jitterTop5Rate}`);
  assert.equal(rand!.top1IsTarget, false);
  assert.ok(rand!.jitterTop1Rate < 0.25);
  const again = await classQuality(graph, pixels, outputNode, [rgb], 224, 224, [281], [7]);
  assert.deepEqual(again[0], cat);
});

test('filter quality ranks the target among the layer channels', async () => {
  const { rgb } = await decodeRgb(path.join(SHARED, 'photos', 'coffee.png'), [96, 96]);
  const of = (images: Uint8Array[], channels: number[]) => ({ graph, pixels, layer: 'conv_pw_3_relu', images, width: 96, height: 96, channels, border: 1 });
  const [q] = await filterQuality(of([rgb], [5]));
  const top = q!.means.indexOf(Math.max(...q!.means));
  assert.equal(q!.top, top);
  const [best] = await filterQuality(of([rgb], [top]));
  assert.equal(best!.rank, 0);
  assert.ok(best!.z > 0);
  assert.equal(q!.rank, q!.means.filter((v) => v > q!.means[5]!).length);
});

test("a filter unit's manifest record = filterQuality on the layer's output and on its pre-activation, from one pass", async () => {
  const { rgb } = await decodeRgb(path.join(SHARED, 'photos', 'chelsea.png'), [96, 96]);
  const noise = Uint8Array.from(tf.randomUniform([96 * 96 * 3], 0, 256, 'int32', 2).dataSync());
  const channels = [5, 11];
  const both = { graph, pixels, layer: 'conv_pw_3_relu', images: [rgb, noise], width: 96, height: 96, channels, border: 1 };
  const records = await filterQualityRecords(both);
  const out = await filterQuality(both);
  const pre = await filterQuality(both, { preActivation: true });
  records.forEach((r, i) => {
    for (const [got, want] of [
      [r, out[i]!],
      [r.preActivation!, pre[i]!],
    ] as const) {
      assert.deepEqual([got.rank, got.ties, got.top, got.channels], [want.rank, want.ties, want.top, want.means.length]);
      assert.ok(Math.abs(got.z - want.z) < 1e-3, `z ${got.z} vs ${want.z}`);
    }
  });
});
