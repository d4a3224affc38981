/** The live page's query (src/lib/live/query.ts) and settings (settings.ts): every value checked, one plain message per problem; settings as the pipeline's. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveQuery, parseLiveQuery, type LiveCatalog } from '../src/lib/live/query.ts';
import { liveSeed, liveSettings, type LiveDefaults } from '../src/lib/live/settings.ts';
import { unitSeed } from '../pipeline/render/seed.ts';

const catalog: LiveCatalog = { layers: [{ name: 'conv_pw_5_relu', filters: 192 }], classCount: 1000, methods: ['lecture', 'lucid'], photos: ['bee-1.jpg'] };
const parse = (q: string) => parseLiveQuery(new URLSearchParams(q), catalog);
const error = (q: string) => {
  const p = parse(q);
  assert.equal(p.ok, false, q);
  return (p as { error: string }).error;
};

test('a filter or a class, with every setting the page reads', () => {
  assert.deepEqual(parse('layer=conv_pw_5_relu&filter=3&method=lucid&steps=64&lr=0.05&seed=7&objective=neuron&backend=wasm&autorun=1'), {
    ok: true,
    request: { target: { kind: 'filter', layer: 'conv_pw_5_relu', filter: 3 }, method: 'lucid', steps: 64, stepSize: 0.05, seed: 7, objective: 'neuron', backend: 'wasm', autorun: true },
  });
  assert.deepEqual(parse('class=309'), { ok: true, request: { target: { kind: 'class', id: 309 }, method: 'lecture', autorun: false } });
  const q = liveQuery({ target: { kind: 'class', id: 1 }, method: 'lecture', steps: 4, seed: 9, photo: 'bee-1.jpg' });
  assert.deepEqual(parse(q.toString()), { ok: true, request: { target: { kind: 'class', id: 1 }, method: 'lecture', steps: 4, seed: 9, photo: 'bee-1.jpg', autorun: false } });
});

test('bad values: one message naming the parameter and the value', () => {
  assert.match(error('layer=conv_pw_5_rleu&filter=1'), /^layer="conv_pw_5_rleu" is not a layer of this model \(did you mean conv_pw_5_relu\?\)$/);
  assert.match(error('layer=conv_pw_5_relu&filter=192'), /filter=192 is out of range: conv_pw_5_relu has filters 0 to 191/);
  assert.match(error('layer=conv_pw_5_relu'), /filter is missing/);
  assert.match(error('layer=conv_pw_5_relu&filter=-1'), /filter="-1" is not a whole number/);
  assert.match(error('class=1000'), /class=1000 is out of range: the model has classes 0 to 999/);
  assert.match(error('class=1&steps=0'), /steps=0 is out of range/);
  assert.match(error('class=1&stepSize=abc'), /stepSize="abc" is not a positive number/);
  assert.match(error('class=1&lr=0.1'), /lr is lucid's learning rate; for lecture give stepSize/);
  assert.match(error('class=1&method=deepdream'), /method="deepdream" is not one of lecture, lucid/);
  assert.match(error('class=1&objective=channel'), /objective="channel" is not one of logit, logprob, probability/);
  assert.match(error('class=1&photo=x.jpg'), /photo="x.jpg" is not a photo of this atlas's dataset \(e.g. bee-1.jpg\)/);
  assert.match(error('class=1&method=lucid&photo=bee-1.jpg'), /only the lecture method starts from a photo/);
  assert.match(error('class=1&layer=conv_pw_5_relu'), /either layer .* or class, not both/);
  assert.match(error('class=1&autorun=yes'), /autorun="yes"/);
  assert.match(error('class=1&colour=red'), /unknown parameter "colour"/);
  assert.match(error(''), /say what to render/);
  // Markup is quoted as text (the page sets it with textContent); long values are cut.
  assert.match(error('layer=<script>alert(1)</script>&filter=1'), /^layer="<script>alert\(1\)<\/script>" is not a layer/);
  assert.ok(error(`layer=${'x'.repeat(500)}&filter=1`).length < 200);
});

const lecture = { steps: 30, stepSize: 10, l2: 0, size: [224, 224] as [number, number], border: 2, crop: 25, deprocess: 'lecture' as const, frameEvery: 1, photo: null, redirect: true };
const defaults: LiveDefaults = {
  graph: 'm/live/graph.json',
  files: ['m/live/graph.json'],
  bytes: 1,
  weightsHash: 'h',
  seed: 3,
  settings: {
    lecture: { filter: lecture, filterCapped: { ...lecture, preActivation: true }, class: { ...lecture, steps: 40, stepSize: 100, deprocess: 'clip', score: 'logit', maxSteps: 120, margin: 1 } },
  },
};

test("settings: the atlas's own, with the query's changes; a new step count ends a class unit's continuation", () => {
  const r = (q: string) => (parse(q) as { request: Parameters<typeof liveSettings>[0] }).request;
  assert.deepEqual(liveSettings(r('layer=conv_pw_5_relu&filter=3'), defaults, true), { ...lecture, preActivation: true });
  assert.deepEqual(liveSettings(r('layer=conv_pw_5_relu&filter=3&objective=neuron&stepSize=5'), defaults, false), { ...lecture, stepSize: 5, filterObjective: 'neuron' });
  const same = liveSettings(r('class=1&steps=40'), defaults, false);
  assert.equal(same.maxSteps, 120, 'the published steps keep the continuation');
  const more = liveSettings(r('class=1&steps=60&objective=logprob'), defaults, false);
  assert.deepEqual([more.steps, more.maxSteps, more.margin, more.score], [60, undefined, undefined, 'logprob']);
  assert.equal(liveSeed(r('class=1'), defaults), unitSeed(3, 'lecture/class/1'), "an unrendered unit's seed is the one the pipeline would give it");
  assert.equal(liveSeed(r('class=1&seed=42'), defaults), 42);
});
