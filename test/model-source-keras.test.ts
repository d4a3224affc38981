/**
 * Keras files as `model.source`: a URL of a `.keras` or `.h5` is one file, downloaded once and
 * told by its content (the URL's extension does not matter); a local file path is used as it is.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { resolveModel } from '../pipeline/model/source.ts';
import { loadModelSpec } from '../pipeline/model/read.ts';
import { modelsDir } from './support/engine.ts';
import { serveStatic } from './support/serve.ts';
import { tempDir } from './support/fixtures.ts';

const KERAS = path.join(modelsDir(), 'keras');
const skip = existsSync(KERAS) ? false : `no ${KERAS} (set ATLAS_MODELS)`;

test('a .keras and an .h5 URL are each downloaded once, as one file named by their content', { skip }, async () => {
  const server = await serveStatic(KERAS, '/keras/');
  const cacheDir = await tempDir();
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  const cases: [string, string, string][] = [
    ['mnist', 'mnist_cnn/model.keras', 'model.keras'],
    ['vww', 'mobilenet_v1_0.25_96_vww/mobilenet_v1_0.25_96.h5', 'model.h5'],
  ];
  try {
    for (const [id, rel, cached] of cases) {
      const source = `${server.url}${rel}`;
      const first = await resolveModel({ id, source, baseDir: cacheDir, cacheDir: path.join(cacheDir, id), fetchImpl: counting });
      assert.equal(path.basename(first.modelJson), cached, `${rel} is kept as ${cached}`);
      assert.ok((await fs.readFile(first.modelJson)).equals(await fs.readFile(path.join(KERAS, rel))), `${rel} downloaded intact`);
      assert.ok((await loadModelSpec(first.modelJson)).spec.layers.length > 3);
    }
    assert.equal(requests, cases.length);
  } finally {
    await server.close();
  }
  // Server gone: the cache answers, with no request.
  const again = await resolveModel({ id: 'mnist', source: `${server.url}mnist_cnn/model.keras`, baseDir: cacheDir, cacheDir: path.join(cacheDir, 'mnist'), fetchImpl: counting });
  assert.equal(path.basename(again.modelJson), 'model.keras');
  assert.equal(requests, cases.length);
});

test('a local .h5 path is the model file itself', { skip }, async () => {
  const file = path.join(KERAS, 'potato_augment_rescaling', 'potato_pretrain_model.h5');
  const found = await resolveModel({ id: 'potato', source: file, baseDir: '/', cacheDir: '/nonexistent' });
  assert.equal(found.modelJson, file);
});
