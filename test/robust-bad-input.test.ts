/**
 * Bad input, table-driven: every case runs the real CLI against an existing atlas folder and must
 * exit 2 with a message naming the file, the key or line, the value and what was expected, leaving
 * the atlas folder byte for byte as it was (validation happens before the output is touched).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashTree, runCli, SMALL_MODEL, temporaries, writeConfig } from './support/robust-run.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'atlas-bad-'));
const atlas = path.join(tmp, 'atlas');

/** A valid small config; `patch` edits its YAML text. */
function config(over: { source?: string; layers?: string; classes?: string; render?: string; output?: string; site?: string; labels?: string; extra?: string } = {}): string {
  return [
    `model:`,
    `  id: mobilenet_v1_0.25_224`,
    `  source: ${over.source ?? SMALL_MODEL}`,
    ...(over.labels ? [`  labels: ${over.labels}`] : []),
    `layers:`,
    `  ${over.layers ?? 'conv_pw_1_relu: 0-1'}`,
    `classes: ${over.classes ?? '[141]'}`,
    `render:`,
    `  ${over.render ?? 'size: 64'}`,
    `  filters: {steps: 2}`,
    `  classes: {steps: 2}`,
    `output: ${over.output ?? atlas}`,
    `site:`,
    `  ${over.site ?? 'title: Bad input'}`,
    ...(over.extra ? [over.extra] : []),
    '',
  ].join('\n');
}

/** A copy of the small model that a case may break. */
async function modelCopy(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(tmp, 'models', name);
  await fs.cp(SMALL_MODEL, dir, { recursive: true });
  await edit(dir);
  return dir;
}

let server: http.Server;
let serverUrl = '';
let deadPort = 0;
let before0: Map<string, string>;

interface Case {
  name: string;
  /** Config text, written to <tmp>/<name>.yaml. */
  yaml: () => Promise<string> | string;
  /** Each must occur in the message (regexes or literal text). */
  expect: (string | RegExp)[];
}

const cases: Case[] = [
  {
    name: 'yaml-syntax',
    yaml: () => config().replace('classes: [141]', 'classes: [141\nrender2: {'),
    expect: [/yaml-syntax\.yaml:\d+:\d+ YAML syntax error/],
  },
  {
    name: 'unknown-key',
    yaml: () => config({ extra: 'rendr: {seed: 1}' }),
    expect: [/unknown-key\.yaml:14 unknown key "rendr"/, 'did you mean "render"'],
  },
  {
    name: 'unknown-nested-key',
    yaml: () => config({ render: 'sede: 3' }),
    expect: [/unknown-nested-key\.yaml:8 unknown key "render\.sede"/, 'did you mean "render.seed"'],
  },
  {
    name: 'wrong-type',
    yaml: () => config({ render: 'seed: ten' }),
    expect: [/wrong-type\.yaml:8 render\.seed: expected number \(got "ten"\)/],
  },
  {
    name: 'unknown-layer',
    yaml: () => config({ layers: 'conv_pw_1_rleu: 0-1' }),
    expect: [/unknown-layer\.yaml:5 layers\.conv_pw_1_rleu: the model has no layer "conv_pw_1_rleu"/, /closest: conv_pw_1_relu/],
  },
  {
    name: 'filter-out-of-range',
    yaml: () => config({ layers: 'conv_pw_1_relu: [0, 3-20]' }),
    expect: [/filter-out-of-range\.yaml:5 layers\.conv_pw_1_relu: filter 16 is out of range: the layer has 16 filters, expected 0-15/],
  },
  {
    name: 'unknown-class-id',
    yaml: () => config({ classes: '[141, 1000]' }),
    expect: [/unknown-class-id\.yaml:6 classes\[1\]: class id 1000 is out of range: the model has 1000 classes, expected 0-999/],
  },
  {
    name: 'unknown-class-name',
    yaml: () => config({ classes: '[goldfsh]' }),
    expect: [/unknown-class-name\.yaml:6 classes\[0\]: no class named "goldfsh"/, /closest: "goldfish, Carassius auratus"/],
  },
  {
    name: 'unknown-method',
    yaml: () => config({ render: 'methods: [lectur]' }),
    expect: [/unknown-method\.yaml:8 render\.methods\[0\]: unknown method "lectur"/, 'did you mean "lecture"'],
  },
  {
    name: 'model-folder-missing',
    yaml: () => config({ source: path.join(tmp, 'no-such-model') }),
    expect: [/model-folder-missing\.yaml:3 model\.source: no model at ".*no-such-model": .*no-such-model does not exist/, 'expected a folder holding model.json'],
  },
  {
    name: 'invalid-model-json',
    yaml: async () => config({ source: await modelCopy('badjson', (d) => fs.writeFile(path.join(d, 'model.json'), '{"modelTopology": {"class_name": ')) }),
    expect: [/badjson\/model\.json: invalid model\.json: .*JSON/, /expected the JSON of a TF\.js layers model/, /from model\.source at .*invalid-model-json\.yaml:3/],
  },
  {
    name: 'weight-shard-missing',
    yaml: async () => config({ source: await modelCopy('noshard', (d) => fs.rm(path.join(d, 'mobilenet_group7-shard1of1'))) }),
    expect: [/noshard\/model\.json: weight file "mobilenet_group7-shard1of1" is missing \(expected at .*noshard\/mobilenet_group7-shard1of1\)/, /weight-shard-missing\.yaml:3/],
  },
  {
    name: 'weight-shard-truncated',
    yaml: async () =>
      config({
        source: await modelCopy('short', async (d) => {
          const f = path.join(d, 'mobilenet_group12-shard1of1');
          const data = await fs.readFile(f);
          await fs.writeFile(f, data.subarray(0, data.length >> 1));
        }),
      }),
    expect: [/short\/model\.json: weight file\(s\) mobilenet_group12-shard1of1 hold \d+ bytes, expected \d+ \(truncated\?\)/],
  },
  {
    name: 'model-url-404',
    yaml: () => config({ source: `${serverUrl}/models/nothing/model.json` }),
    expect: [/model-url-404\.yaml:3 model\.source: http:\/\/127\.0\.0\.1:\d+\/models\/nothing\/model\.json answered HTTP 404/, "expected 200 with the model's model.json"],
  },
  {
    name: 'model-url-unreachable',
    yaml: () => config({ source: `http://127.0.0.1:${deadPort}/model.json` }),
    expect: [/model-url-unreachable\.yaml:3 model\.source: cannot reach http:\/\/127\.0\.0\.1:\d+\/model\.json \(ECONNREFUSED\)/, 'expected a reachable URL'],
  },
  {
    name: 'labels-wrong-count',
    yaml: async () => {
      await fs.writeFile(path.join(tmp, 'three.json'), JSON.stringify(['a', 'b', 'c']));
      return config({ labels: 'three.json' });
    },
    expect: [/three\.json: labels file has 3 names but the model has 1000 classes; expected one name per class \(1000\)/, /from model\.labels at .*labels-wrong-count\.yaml:4/],
  },
  {
    name: 'labels-not-json',
    yaml: async () => {
      await fs.writeFile(path.join(tmp, 'broken.json'), '["a", "b"');
      return config({ labels: 'broken.json' });
    },
    expect: [/broken\.json: labels file is not JSON/],
  },
  {
    name: 'malformed-base',
    yaml: () => config({ site: 'base: my-repo' }),
    expect: [/malformed-base\.yaml:13 site\.base: expected a path that starts and ends with "\/", like "\/" or "\/my-repo\/" \(got "my-repo"\)/],
  },
  {
    name: 'malformed-url',
    yaml: () => config({ site: 'url: not a url' }),
    expect: [/malformed-url\.yaml:13 site\.url: expected an http\(s\) URL .*\(got "not a url"\)/],
  },
  {
    // Root may write anywhere; a path below a regular file fails for everyone.
    name: 'output-not-writable',
    yaml: async () => {
      await fs.writeFile(path.join(tmp, 'plainfile'), 'not a folder');
      return config({ output: path.join(tmp, 'plainfile', 'sub') });
    },
    expect: [/output-not-writable\.yaml:11 output: cannot create or write the folder .*plainfile\/sub \(ENOTDIR\); expected a folder this user can write/],
  },
  {
    name: 'output-is-a-file',
    yaml: () => config({ output: path.join(tmp, 'plainfile') }),
    expect: [/output-is-a-file\.yaml:11 output: .*plainfile is a file; expected a folder/],
  },
];

before(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port that was free a moment ago: nothing listens there.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const good = await runCli(['pipeline', '--config', await writeConfig(tmp, config(), 'good.yaml')]);
  assert.equal(good.code, 0, good.stderr);
  before0 = await hashTree(atlas);
  assert.ok(before0.has('manifest.json'));
});

after(async () => {
  server?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('bad input: exit 2, a precise message, the atlas untouched', () => {
  for (const c of cases) {
    test(c.name, async (t) => {
      const file = await writeConfig(tmp, await c.yaml(), `${c.name}.yaml`);
      const r = await runCli(['pipeline', '--config', file]);
      const message = r.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
      t.diagnostic(message);
      assert.equal(r.code, 2, `exit code for ${c.name}; stderr:\n${r.stderr}`);
      for (const e of c.expect) {
        if (typeof e === 'string') assert.ok(message.includes(e), `"${e}" in: ${message}`);
        else assert.match(message, e);
      }
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for bad input');
      assert.deepEqual(await hashTree(atlas), before0, 'the existing atlas folder is unchanged');
      assert.deepEqual(await temporaries(atlas), []);
    });
  }
});
