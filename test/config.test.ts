import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../pipeline/config/load.ts';
import { AtlasError } from '../pipeline/errors.ts';
import { batches, expandFilters, planClasses, planUnits } from '../pipeline/plan.ts';

const MIN = 'model:\n  id: m\n  source: ./m\n';

function errorOf(text: string): AtlasError {
  try {
    parseConfig(text, '/x/atlas.config.yaml');
  } catch (err) {
    assert.ok(err instanceof AtlasError, `expected AtlasError, got ${err}`);
    return err;
  }
  assert.fail('config was accepted');
}

test('defaults fill every render setting', () => {
  const c = parseConfig(MIN, 'a.yaml');
  assert.equal(c.render.filters.steps, 30);
  assert.equal(c.render.filters.stepSize, 10);
  assert.equal(c.render.classes.stepSize, 100);
  assert.equal(c.render.classes.l2, 1e-6);
  assert.equal(c.render.border, 2);
  assert.equal(c.render.crop, 25);
  assert.deepEqual(c.model.pixels.range, [-1, 1]);
  assert.equal(c.site.base, '/');
});

test('unknown key names file, line and a close key', () => {
  const e = errorOf(`${MIN}render:\n  stpes: 3\n`);
  assert.match(e.message, /atlas\.config\.yaml:5 unknown key "render\.stpes"/);
  assert.match(e.message, /did you mean "render\.seed"\?/);
  assert.equal(e.line, 5);
});

test('wrong type names key, line and value', () => {
  const e = errorOf(`${MIN}render:\n  seed: seven\n`);
  assert.match(e.message, /:5 render\.seed: expected number \(got "seven"\)/);
});

test('filter objective: channel by default, the named ones accepted, others named with the choices; classes have none', () => {
  assert.equal(parseConfig(MIN, 'a.yaml').render.filters.objective, 'channel');
  assert.equal(parseConfig(`${MIN}render:\n  filters: { objective: share }\n`, 'a.yaml').render.filters.objective, 'share');
  const e = errorOf(`${MIN}render:\n  filters:\n    objective: biggest\n`);
  assert.match(e.message, /:6 render\.filters\.objective: expected one of "channel", "neuron", "cossim", "share" \(got "biggest"\)/);
  assert.match(errorOf(`${MIN}render:\n  classes: { objective: share }\n`).message, /unknown key "render\.classes\.objective"/);
});

test('YAML syntax error has line and column', () => {
  const e = errorOf('model:\n  id: [x\n');
  assert.match(e.message, /atlas\.config\.yaml:\d+:\d+ YAML syntax error/);
});

test('malformed base path is rejected with the expected form', () => {
  const e = errorOf(`${MIN}site:\n  base: my-repo\n`);
  assert.match(e.message, /site\.base: expected a path that starts and ends with "\/"/);
  assert.match(e.message, /got "my-repo"/);
});

test('filter selections: all, index, range, list', () => {
  assert.deepEqual(expandFilters('all', 4, 'k'), [0, 1, 2, 3]);
  assert.deepEqual(expandFilters(2, 4, 'k'), [2]);
  assert.deepEqual(expandFilters('1-3', 8, 'k'), [1, 2, 3]);
  assert.deepEqual(expandFilters([5, '0-1', 1], 8, 'k'), [0, 1, 5]);
  assert.throws(() => expandFilters('0-8', 8, 'layers.c'), /layers\.c: filter 8 is out of range: the layer has 8 filters, expected 0-7/);
});

test('classes by id, exact label, synonym; unknown names list close ones', () => {
  const labels = ['tench, Tinca tinca', 'goldfish, Carassius auratus', 'great white shark'];
  assert.deepEqual(planClasses([2, 'goldfish', 'Tench, Tinca tinca'], labels).map((c) => c.id), [2, 1, 0]);
  assert.throws(() => planClasses(['goldfsh'], labels), /no class named "goldfsh".*closest: "goldfish/);
  assert.throws(() => planClasses([3], labels), /class id 3 is out of range: the model has 3 classes/);
});

test('batches group by method, kind and target and respect the size', () => {
  const layers = [
    { name: 'a', className: 'Conv2D', outputShape: [4, 4, 8], filterCount: 8, filters: [0, 1, 2] },
    { name: 'b', className: 'Conv2D', outputShape: [2, 2, 8], filterCount: 8, filters: [0] },
  ];
  const units = planUnits(['lecture'], layers, [{ id: 3, label: 'x' }], 'logits');
  const groups = batches(units, 2).map((g) => g.map((u) => `${u.target}:${u.index}`));
  assert.deepEqual(groups, [['a:0', 'a:1'], ['a:2'], ['b:0'], ['logits:3']]);
});
