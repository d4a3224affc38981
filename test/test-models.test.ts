/** How the tests find their models (`support/models.ts`): ATLAS_MODELS, ../shared/models, then the public models downloaded once. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { M025, MODELS, ROOT, tempDir } from './support/fixtures.ts';
import { resolveTestModels } from './support/models.ts';

let server: http.Server;
let base: string;
const requests: string[] = [];

before(async () => {
  // A loopback stand-in for the public host: serves the test models' files.
  server = http.createServer((req, res) => {
    requests.push(req.url!);
    const file = path.join(MODELS, decodeURIComponent(req.url!.slice(1)));
    fs.readFile(file).then(
      (data) => res.end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** A checkout folder `<tmp>/repo`, with `<tmp>/shared/models` beside it when `shared`. */
async function checkout(shared: boolean): Promise<string> {
  const tmp = await tempDir('atlas-models-');
  if (shared) await fs.mkdir(path.join(tmp, 'shared', 'models'), { recursive: true });
  await fs.mkdir(path.join(tmp, 'repo'));
  return path.join(tmp, 'repo');
}

it('ATLAS_MODELS comes first, then ../shared/models beside the checkout', async () => {
  const root = await checkout(true);
  const own = await tempDir('atlas-own-models-');
  assert.deepEqual(await resolveTestModels({ root, env: { ATLAS_MODELS: own } }), { dir: own, from: 'ATLAS_MODELS' });
  assert.deepEqual(await resolveTestModels({ root, env: {} }), { dir: path.resolve(root, '..', 'shared', 'models'), from: 'shared' });
});

it('without either, the public models are downloaded once into .atlas-cache/, which then serves as the models folder', async () => {
  const root = await checkout(false);
  const urls = { [M025]: `${base}/${M025}/model.json` };
  const first = await resolveTestModels({ root, env: {}, urls });
  assert.deepEqual(first, { dir: path.join(root, '.atlas-cache'), from: 'download' });
  const manifest = JSON.parse(await fs.readFile(path.join(first.dir, M025, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  for (const p of manifest.weightsManifest.flatMap((g) => g.paths)) {
    assert.deepEqual(await fs.readFile(path.join(first.dir, M025, p)), await fs.readFile(path.join(MODELS, M025, p)), `${p} downloaded whole`);
  }
  const fetched = requests.length;
  assert.ok(fetched > 1, 'model.json and its weight files were fetched');
  assert.deepEqual(await resolveTestModels({ root, env: {}, urls }), first);
  assert.equal(requests.length, fetched, 'a second run downloads nothing');
});

it('offline without models: one line that says what to set', async () => {
  const root = await checkout(false);
  // A closed loopback port: nothing answers, as for a machine without a network.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const err = await resolveTestModels({ root, env: {}, urls: { [M025]: `http://127.0.0.1:${port}/${M025}/model.json` } }).then(
    () => assert.fail('resolved without models'),
    (e: Error) => e,
  );
  assert.doesNotMatch(err.message, /\n/, 'one line');
  assert.match(err.message, /set ATLAS_MODELS/);
  assert.match(err.message, /shared[/\\]models does not exist/);
  assert.match(err.message, /ECONNREFUSED/, 'says why the download failed');
});

it('npm test stops before any test, with one line and exit 2, when the models folder it is given does not exist', () => {
  const missing = path.join(ROOT, 'no-such-models-folder');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'support', 'run-tests.ts'), 'test/test-models.test.ts'], {
    cwd: ROOT,
    env: { ...process.env, ATLAS_MODELS: missing },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '', 'no test ran');
  assert.deepEqual(r.stderr.trim().split('\n'), [`ATLAS_MODELS=${missing}: no such folder; set ATLAS_MODELS to a folder of models (like ../shared/models) or unset it`]);
});
