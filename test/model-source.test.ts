import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { resolveModel } from '../pipeline/model/source.ts';
import { serveStatic } from './support/serve.ts';
import { M025, MODELS, tempDir } from './support/fixtures.ts';

test('a model URL is downloaded once (following weightsManifest paths) and then served from the cache', async () => {
  const server = await serveStatic(MODELS, '/models/');
  const cacheDir = await tempDir();
  const url = `${server.url}${M025}/model.json`;
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  try {
    const first = await resolveModel({ id: M025, source: url, baseDir: cacheDir, cacheDir, fetchImpl: counting });
    assert.equal(first.origin, url);
    const manifest = JSON.parse(await fs.readFile(first.modelJson, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    const paths = manifest.weightsManifest.flatMap((g) => g.paths);
    assert.ok(
      paths.every((p) => p.startsWith('mobilenet_')),
      'shard names kept as model.json names them',
    );
    for (const p of paths) {
      const [a, b] = await Promise.all([fs.readFile(path.join(path.dirname(first.modelJson), p)), fs.readFile(path.join(MODELS, M025, p))]);
      assert.ok(a.equals(b), `${p} downloaded intact`);
    }
    assert.equal(requests, 1 + paths.length);
  } finally {
    await server.close();
  }
  // Server gone: the cache answers.
  const again = await resolveModel({ id: M025, source: url, baseDir: cacheDir, cacheDir, fetchImpl: counting });
  assert.equal(requests, 1 + (await fs.readdir(path.dirname(again.modelJson))).filter((f) => f.startsWith('mobilenet_')).length);
});

test('ATLAS_MODELS is searched first by id, before the configured source', async () => {
  const found = await resolveModel({ id: M025, source: 'https://models.invalid/x/model.json', baseDir: '/', modelsDir: MODELS, cacheDir: '/nonexistent' });
  assert.equal(found.modelJson, path.join(MODELS, M025, 'model.json'));
});
