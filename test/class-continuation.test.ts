/**
 * Class continuation (issue 18): a class unit whose image is not yet its class's top-1 by the margin
 * after `steps` keeps going, up to `maxSteps`, and stops at the first step where it leads; a unit
 * still behind at `maxSteps` is flagged. Real MobileNet v1 0.25 at its own 224 px, tiny step counts.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configSchema } from '../pipeline/config/schema.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { tfjsEngine } from '../pipeline/engine/tfjs-engine.ts';
import { unitFlags } from '../pipeline/render/flags.ts';
import { renderBatch } from '../pipeline/render/loop.ts';
import { lectureMethod } from '../pipeline/render/methods/lecture.ts';
import { lucidMethod } from '../pipeline/render/methods/lucid.ts';
import { CLASS_MARGIN } from '../pipeline/render/methods/shaping.ts';
import { classLead } from '../pipeline/render/objectives.ts';
import { fromByteImages } from '../pipeline/render/pixels.ts';
import { classQuality } from '../pipeline/render/quality.ts';
import { M025, sharedGraph } from './support/fixtures.ts';

const SIZE: [number, number] = [224, 224];
const PIXELS = { range: [-1, 1] as [number, number] };
const CLASSES = [130, 954, 409];
const SEEDS = [101, 102, 105];
let graph: LeanGraph;
before(async () => {
  graph = await sharedGraph(M025);
});
after(() => graph.dispose());

async function render(classes: number[], seeds: number[], classesBlock: Record<string, unknown>) {
  const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lecture: { classes: classesBlock } } });
  const settings = lectureMethod.settings(config, 'class', { size: SIZE, capped: false });
  const objective = lectureMethod.objective(settings, { kind: 'class', node: graph.logitNode!, indices: classes, isLogit: true });
  const units = classes.map((c, i) => ({ key: `lecture/class/${c}`, seed: seeds[i]! }));
  return renderBatch(lectureMethod.plan(settings, units, objective), { engine: tfjsEngine(graph), pixels: PIXELS });
}

const quality = (images: Uint8Array[], classes: number[], seeds: number[]) => classQuality(graph, PIXELS, graph.nodes.at(-1)!.name, images, SIZE[1], SIZE[0], classes, seeds);

/** The lead of each published image (bytes) over its best rival class, in log-odds. */
function leads(images: Uint8Array[], classes: number[]): number[] {
  return tf.tidy(() => {
    const [logits] = graph.run(fromByteImages(images, SIZE[1], SIZE[0]), [graph.logitNode!]);
    return Array.from(classLead(logits!.reshape([images.length, -1]) as tf.Tensor2D, classes, true).dataSync());
  });
}

test('settings: continuation by default for clipped class units only, and absent where it cannot continue (cache keys)', () => {
  const settings = (render: Record<string, unknown>, kind: 'class' | 'filter' = 'class', method = lectureMethod as typeof lectureMethod | typeof lucidMethod) =>
    method.settings(configSchema.parse({ model: { id: 'm', source: 'x' }, render }), kind, { size: SIZE, capped: false }) as { steps: number; maxSteps?: number; margin?: number };
  const lecture = settings({});
  assert.deepEqual([lecture.maxSteps, lecture.margin], [3 * lecture.steps, CLASS_MARGIN]);
  assert.equal(settings({ lecture: { classes: { maxSteps: 40 } } }).maxSteps, undefined, 'maxSteps = steps: off, not recorded');
  assert.equal(settings({ lecture: { classes: { deprocess: 'lecture' } } }).maxSteps, undefined, 'not published clipped: off by default');
  assert.equal(settings({ lecture: { classes: { deprocess: 'lecture', maxSteps: 50 } } }).maxSteps, 50);
  assert.equal(settings({}, 'filter').maxSteps, undefined);
  assert.equal(settings({ lucid: { steps: 8 } }, 'class', lucidMethod).maxSteps, 24);
  assert.equal(settings({ lucid: { steps: 8, negative: true } }, 'class', lucidMethod).maxSteps, undefined);
});

test('a unit not top-1 after its steps continues and stops at the first step where it leads by the margin', async () => {
  const maxSteps = 60;
  const batch = await render(CLASSES, SEEDS, { steps: 1, maxSteps });
  const ran = batch.map((r) => r.curve.length - 1);
  assert.ok(
    ran.every((s) => s > 1 && s < maxSteps),
    `steps run: ${ran}`,
  );
  assert.ok(new Set(ran).size > 1, `units stop at their own step: ${ran}`);
  // The GIF and the curve show the continued steps: a frame per step and the final image.
  batch.forEach((r) => assert.equal(r.frames.length, r.curve.length));
  const q = await quality(
    batch.map((r) => r.input),
    CLASSES,
    SEEDS,
  );
  assert.ok(
    q.every((x) => x.top1IsTarget),
    q.map((x) => x.top1).join(', '),
  );
  assert.ok(
    leads(
      batch.map((r) => r.input),
      CLASSES,
    ).every((l) => l > 0),
  );

  // A unit that stopped at step s is exactly the plain s-step unit; one step fewer did not lead by the margin.
  const k = ran.indexOf(Math.max(...ran));
  const s = ran[k]!;
  const [plain] = await render([CLASSES[k]!], [SEEDS[k]!], { steps: s, maxSteps: s });
  assert.ok(Buffer.from(plain!.image).equals(Buffer.from(batch[k]!.image)));
  const [before] = await render([CLASSES[k]!], [SEEDS[k]!], { steps: s - 1, maxSteps: s - 1 });
  assert.ok(leads([before!.input], [CLASSES[k]!])[0]! < CLASS_MARGIN);

  // The unit that stops first, alone: the same steps and bytes as beside units that continue.
  const j = ran.indexOf(Math.min(...ran));
  const [alone] = await render([CLASSES[j]!], [SEEDS[j]!], { steps: 1, maxSteps });
  assert.equal(alone!.curve.length, batch[j]!.curve.length);
  assert.ok(Buffer.from(alone!.image).equals(Buffer.from(batch[j]!.image)));
});

test('a unit still behind at maxSteps ends there and is flagged not-top1', async () => {
  const results = await render(CLASSES, SEEDS, { steps: 1, maxSteps: 3 });
  const q = await quality(
    results.map((r) => r.input),
    CLASSES,
    SEEDS,
  );
  const behind = results.flatMap((r, i) => (q[i]!.top1IsTarget ? [] : [i]));
  assert.ok(behind.length > 0, 'some unit is not top-1 after 3 steps');
  for (const i of behind) {
    assert.equal(results[i]!.curve.length, 4, 'it ran to maxSteps');
    assert.ok(unitFlags('class', results[i]!, q[i]).includes('not-top1'));
  }
});
