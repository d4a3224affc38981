import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { cropFor, deprocess } from '../pipeline/render/deprocess.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import type { BatchUnit, RenderContext } from '../pipeline/render/method.ts';
import { lectureMethod, type LectureUnitSettings } from '../pipeline/render/methods/lecture.ts';
import { channelObjective, type Objective } from '../pipeline/render/objectives.ts';
import { M025, sharedGraph } from './support/fixtures.ts';

let graph: LeanGraph;
const ctx = (): RenderContext => ({ engine: tfjsEngine(graph), pixels: { range: [-1, 1] as [number, number] } });

/** A lecture batch: the units, their objective and the lecture settings the tests vary. */
type RenderBatch = Pick<LectureUnitSettings, 'size' | 'steps' | 'stepSize' | 'l2' | 'frameEvery' | 'deprocess' | 'crop'> & { units: BatchUnit[]; objective: Objective; photo?: Float32Array };

/** The lecture method's parts for the batch, through the one render loop. */
const renderLecture = (b: RenderBatch, c: RenderContext) => renderBatch(lectureMethod.plan({ ...b, border: 2, photo: null }, b.units, b.objective, b.photo), c);

before(async () => {
  graph = await sharedGraph(M025, 'auto');
});

function filterBatch(channels: number[], seeds: number[], steps = 5): RenderBatch {
  return {
    units: channels.map((c, i) => ({ key: `f${c}`, seed: seeds[i]! })),
    objective: channelObjective('conv_pw_3_relu', channels, 2),
    size: [64, 64],
    steps,
    stepSize: 10,
    l2: 0,
    frameEvery: 2,
    deprocess: 'lecture',
    crop: 25,
  };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('ascent raises the objective, records steps+1 values and frames at the requested interval', async () => {
  const [r] = await renderLecture(filterBatch([9], [7], 6), ctx());
  assert.equal(r!.curve.length, 7);
  // frames at steps 0, 2, 4 and the final image
  assert.equal(r!.frames.length, 4);
  assert.ok(r!.curve[6]! > r!.curve[0]!, `objective went from ${r!.curve[0]} to ${r!.curve[6]}`);
  assert.equal(r!.error, undefined);
});

test("a result's input is the optimized image itself: uncropped, only clipped (what quality numbers measure)", async () => {
  const batch = { ...filterBatch([9], [7], 3), size: [128, 128] as [number, number] };
  const [shown] = await renderLecture(batch, ctx());
  assert.equal(shown!.width, 128 - 2 * 25);
  assert.equal(shown!.image.length, 78 * 78 * 3);
  assert.equal(shown!.input.length, 128 * 128 * 3);
  // Deprocessing does not change the optimization: rendered with 'clip', the image is that input.
  const [clipped] = await renderLecture({ ...batch, deprocess: 'clip' }, ctx());
  assert.equal(maxAbsDiff(clipped!.image, shown!.input), 0);
  assert.equal(clipped!.input, clipped!.image);
});

test('deprocess: std 0.15 around 0.5, clipped, 25 px cropped only on large images', async () => {
  const x = tf.randomNormal([2, 128, 128, 3], 3, 7, 'float32', 1) as tf.Tensor4D;
  const y = deprocess(x, 25);
  assert.deepEqual(y.shape, [2, 78, 78, 3]);
  const v = Array.from(await y.data());
  const mean = v.reduce((a, b) => a + b, 0) / v.length / 255;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  const sd = Math.sqrt(v.reduce((a, b) => a + (b / 255 - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(sd - 0.15) < 0.01, `std ${sd}`);
  assert.equal(cropFor(64, 25), 0);
  assert.deepEqual(deprocess(tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D, 25).shape, [1, 64, 64, 3]);
});

test('a start photo: the first frame is the photo plus the faint start noise', async () => {
  const { decodeRgb } = await import('../pipeline/output/images.ts');
  const { PHOTOS } = await import('./support/fixtures.ts');
  const photo = await decodeRgb(path.join(PHOTOS, 'chelsea.png'), [64, 64]);
  const batch: RenderBatch = { ...filterBatch([2], [9], 1), deprocess: 'clip', photo: Float32Array.from(photo.rgb, (v) => v / 127.5 - 1) };
  const [r] = await renderLecture(batch, ctx());
  const first = r!.frames[0]!;
  // noise is ±0.125 in [-1, 1] pixels = ±16 levels; +1 for rounding, clipping only shrinks it
  assert.ok(maxAbsDiff(first, photo.rgb) <= 17, `first frame differs from the photo by ${maxAbsDiff(first, photo.rgb)}`);
  assert.ok(maxAbsDiff(first, photo.rgb) >= 8, 'the noise is there too');
});
