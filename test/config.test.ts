import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, parseConfigWithLines } from '../pipeline/config/load.ts';
import { AtlasError } from '../pipeline/errors.ts';
import { lectureMethod } from '../pipeline/render/methods/lecture.ts';
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
  assert.equal(c.render.lecture.filters.steps, 30);
  assert.equal(c.render.lecture.filters.stepSize, 10);
  assert.equal(c.render.lecture.classes.stepSize, 100);
  assert.equal(c.render.lecture.classes.l2, 1e-6);
  assert.equal(c.render.border, 'auto');
  assert.equal(c.render.lecture.crop, 'auto');
  assert.deepEqual(c.model.pixels.range, [-1, 1]);
  assert.equal(c.site.base, '/');
});

test("border and crop: auto is the notes' 2 and 25 px at 224 px, scaled to the image's shorter side; numbers stay as given", () => {
  const at = (text: string, size: [number, number]) => {
    const s = lectureMethod.settings(parseConfig(text, 'a.yaml'), 'filter', { size, capped: false });
    return [s.border, s.crop];
  };
  assert.deepEqual(at(MIN, [224, 224]), [2, 25]);
  assert.deepEqual(at(MIN, [28, 28]), [0, 3]);
  assert.deepEqual(at(MIN, [96, 64]), [1, 7]);
  assert.deepEqual(at(`${MIN}render:\n  border: 3\n  lecture: { crop: 10 }\n`, [28, 28]), [3, 10]);
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
  assert.equal(parseConfig(MIN, 'a.yaml').render.lecture.filterObjective, 'channel');
  assert.equal(parseConfig(`${MIN}render:\n  lecture: { filterObjective: share }\n`, 'a.yaml').render.lecture.filterObjective, 'share');
  const e = errorOf(`${MIN}render:\n  lecture:\n    filterObjective: biggest\n`);
  assert.match(e.message, /:6 render\.lecture\.filterObjective: expected one of "channel", "neuron", "cossim", "share" \(got "biggest"\)/);
  assert.match(errorOf(`${MIN}render:\n  lecture:\n    classes: { objective: share }\n`).message, /unknown key "render\.lecture\.classes\.objective"/);
});

test('old lecture keys under render still load, each with a notice naming the new key and its line', () => {
  const text = `${MIN}render:\n  crop: 10\n  photo: cat.png\n  frameEvery: 3\n  filters:\n    steps: 7\n    objective: share\n  classes: { steps: 9 }\n`;
  const { config, notices } = parseConfigWithLines(text, '/x/atlas.config.yaml');
  const l = config.render.lecture;
  assert.deepEqual([l.crop, l.photo, l.frameEvery, l.filters.steps, l.filterObjective, l.classes.steps], [10, 'cat.png', 3, 7, 'share', 9]);
  assert.equal(notices.length, 6);
  assert.ok(
    notices.includes('/x/atlas.config.yaml:10 note: render.filters.objective is now render.lecture.filterObjective (it applies to the lecture method only); the old key still works'),
    notices.join('\n'),
  );
  assert.ok(notices.some((n) => /:5 note: render\.crop is now render\.lecture\.crop/.test(n)));
  // Errors in a moved block still name the line the file wrote it on.
  assert.match(errorOf(`${MIN}render:\n  filters:\n    steps: many\n`).message, /:6 render\.lecture\.filters\.steps: expected number/);
  assert.match(errorOf(`${MIN}render:\n  crop: 3\n  lecture: { crop: 4 }\n`).message, /:5 render\.crop and render\.lecture\.crop are the same setting; keep only render\.lecture\.crop/);
  assert.deepEqual(parseConfigWithLines(MIN, 'a.yaml').notices, []);
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
  assert.deepEqual(
    planClasses([2, 'goldfish', 'Tench, Tinca tinca'], labels).map((c) => c.id),
    [2, 1, 0],
  );
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
