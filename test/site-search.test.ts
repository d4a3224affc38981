/** The search page's matching (src/lib/search.ts) over a small index: words, numbers, unrendered classes, thumbnails. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { search, type SearchIndex } from '../src/lib/search.ts';

const idx: SearchIndex = {
  model: 'm',
  layers: [
    { n: 'conv_pw_5_relu', p: 'layers/conv_pw_5_relu/', c: 'Activation', f: [1, 7], t: 'data/m/lecture/layers/conv_pw_5_relu/', x: [7] },
    { n: 'conv_pw_2_relu', p: 'layers/conv_pw_2_relu/', c: 'Activation', f: [0, 1, 2, 3] },
  ],
  classes: [
    { i: 1, l: 'goldfish, Carassius auratus', p: 'classes/1/', t: 1 },
    { i: 0, l: 'tench, Tinca tinca' },
    { i: 391, l: 'coho, cohoe, coho salmon, blue jack, silver salmon' },
  ],
  ct: 'data/m/lecture/classes/',
};

test('a word finds classes by label, rendered ones first; an unrendered class has no page and says so', () => {
  const hits = search(idx, 'fish');
  assert.deepEqual(
    hits.map((h) => [h.text, h.p, h.t]),
    [['1 goldfish, Carassius auratus', 'classes/1/', 'data/m/lecture/classes/1.webp']],
  );
  const tench = search(idx, 'TENCH');
  assert.deepEqual(
    tench.map((h) => [h.text, h.kind, h.p, h.t]),
    [['0 tench, Tinca tinca', 'class, not rendered in this atlas', undefined, undefined]],
  );
});

test('an atlas with the live page links an unrendered class to a live render of it', () => {
  const hits = search({ ...idx, lv: 'live/' }, 'tench');
  assert.deepEqual(
    hits.map((h) => [h.text, h.kind, h.p]),
    [['0 tench, Tinca tinca', 'class, not rendered in this atlas: render it live', 'live/?class=0']],
  );
  assert.equal(search({ ...idx, lv: 'live/' }, 'goldfish')[0]!.p, 'classes/1/', 'a rendered class keeps its page');
});

test('numbers: a class id, or a layer and filter; the thumbnail comes from the layer folder unless the filter has none', () => {
  assert.deepEqual(
    search(idx, '391').map((h) => h.text),
    ['391 coho, cohoe, coho salmon, blue jack, silver salmon'],
  );
  const f = search(idx, 'conv_pw_5 1');
  assert.deepEqual(
    f.map((h) => [h.text, h.p, h.t]),
    [['conv_pw_5_relu filter 1', 'layers/conv_pw_5_relu/1/', 'data/m/lecture/layers/conv_pw_5_relu/1.webp']],
  );
  assert.equal(search(idx, 'conv_pw_5 7')[0]!.t, undefined);
  assert.deepEqual(
    search(idx, 'relu').map((h) => h.text),
    ['conv_pw_2_relu', 'conv_pw_5_relu'],
  );
  assert.deepEqual(search(idx, 'nothing like it'), []);
});
