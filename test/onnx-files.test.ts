/**
 * ONNX files as a user brings them: an atlas built by config alone from an export (filters of a mid
 * layer and a class, through the CLI, PyTorch module names, the torch pixel preset by default),
 * external data beside the model, and every refused file (exit 2 naming the node, op or path):
 * an unsupported op, a custom domain, external data outside the model's folder, a truncated file,
 * class units on a model whose output is a feature map. Bad files are built here from a real export.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, it } from 'node:test';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { loadOrt } from '../pipeline/engine/onnx/runtime.ts';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../pipeline/model/read.ts';
import { resolveModel } from '../pipeline/model/source.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { MODELS, runCli, tempDir, writeConfig } from './support/fixtures.ts';
import { serveStatic } from './support/serve.ts';

const { onnx } = onnxProto;
const SQUEEZE = path.join(MODELS, 'onnx', 'squeezenet1_1', 'model.onnx');
const MOBILENET = path.join(MODELS, 'onnx', 'mobilenet_v1_0.25_torch', 'model.onnx');
const skip = existsSync(SQUEEZE) && existsSync(MOBILENET) ? false : 'no ../shared/models/onnx';
let dir: string;

before(async () => {
  dir = await tempDir('atlas-onnx-');
  await selectBackend('wasm');
});

type Model = InstanceType<typeof onnx.ModelProto>;

async function edited(edit: (m: Model) => void): Promise<Uint8Array> {
  const m = onnx.ModelProto.decode(await fs.readFile(SQUEEZE));
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

/** Runs the pipeline on a model file written to its own folder; returns the exit code and stderr. */
async function cliOn(name: string, bytes: Uint8Array, extra = '', files: Record<string, Uint8Array> = {}): Promise<{ code: number | null; stderr: string; file: string }> {
  const folder = path.join(dir, name);
  await fs.mkdir(folder, { recursive: true });
  const file = path.join(folder, 'model.onnx');
  await fs.writeFile(file, bytes);
  for (const [rel, data] of Object.entries(files)) await fs.writeFile(path.join(folder, rel), data);
  const config = await writeConfig(folder, `model:\n  id: ${name}\n  source: ./model.onnx\n${extra}output: out\n`, 'atlas.yaml');
  return { ...(await runCli(['pipeline', '--config', config, '--quiet'])), file };
}

it('an atlas by config alone from an ONNX export: filters of a mid layer (PyTorch name) and a class', { skip }, async () => {
  const work = await tempDir('atlas-onnx-e2e-');
  const config = await writeConfig(
    work,
    `model:
  id: mobilenet-torch
  source: ${JSON.stringify(MOBILENET)}
layers:
  net.conv_pw_5_relu: 0-1
classes: [285]
render:
  size: 64
  filters: { steps: 2 }
  classes: { steps: 2 }
output: data
`,
  );
  const run = await runCli(['pipeline', '--config', config]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout + run.stderr, /pixels: \[0, 1\].*preset torch.*ONNX/);
  const m = JSON.parse(await fs.readFile(path.join(work, 'data', 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.filters]),
    [['net.conv_pw_5_relu', [0, 1]]],
  );
  assert.equal(m.classes[0]!.label.split(',')[0], 'Egyptian cat', 'labels.json beside the model');
  assert.equal(m.units.length, 3);
  assert.deepEqual(m.model.pixels.range, [0, 1]);
  assert.ok(
    m.model.layers!.some((l) => l.name === 'net.conv_dw_13_relu'),
    'the model map shows module names',
  );
  for (const u of m.units) await fs.access(path.join(work, 'data', u.files!.png));
});

it("Lucent's underscore names and unknown names (with close PyTorch names)", { skip }, async () => {
  const lucent = await cliOn('lucent', await fs.readFile(SQUEEZE), 'layers:\n  features_3_expand1x1_activation: 0\nrender:\n  size: 64\n  filters: { steps: 1 }\n');
  assert.equal(lucent.code, 0, lucent.stderr);
  const unknown = await cliOn('unknown', await fs.readFile(SQUEEZE), 'layers:\n  features.3.expand1x1_activaton: 0\n');
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /closest: features\.3\.expand1x1_activation/);
});

it('external data beside the model loads; a path outside its folder is refused naming the path', { skip }, async () => {
  const moved = new Map<string, Uint8Array>();
  const external = (location: string) =>
    edited((m) => {
      let offset = 0;
      const parts: Uint8Array[] = [];
      for (const t of m.graph!.initializer!.slice(0, 4)) {
        const raw = t.rawData!;
        parts.push(raw);
        t.externalData = [
          onnx.StringStringEntryProto.create({ key: 'location', value: location }),
          onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
          onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
        ];
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.rawData = new Uint8Array(0);
        offset += raw.length;
      }
      moved.set(location, Buffer.concat(parts));
    });
  const beside = await external('model.onnx.data');
  const folder = path.join(dir, 'beside');
  await fs.mkdir(folder, { recursive: true });
  await fs.writeFile(path.join(folder, 'model.onnx'), beside);
  await fs.writeFile(path.join(folder, 'model.onnx.data'), moved.get('model.onnx.data')!);
  const a = await loadModel(path.join(folder, 'model.onnx'));
  const b = await loadModel(SQUEEZE);
  try {
    const [ya, yb] = tf.tidy(() => {
      const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      return [a.graph, b.graph].map((g) => g.run(x, [g.outputName])[0]!.dataSync() as Float32Array);
    });
    assert.deepEqual(Array.from(ya!), Array.from(yb!));
    assert.notEqual(a.weightsHash, b.weightsHash);
  } finally {
    a.graph.dispose();
    b.graph.dispose();
  }
  for (const location of ['../weights.bin', '/etc/weights.bin']) {
    const run = await cliOn(`outside-${location.length}`, await external(location));
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(run.file) && run.stderr.includes(`"${location}", outside the model's folder`), run.stderr);
  }
});

it('refused files exit 2 naming the node and op, the domain, or the file', { skip }, async () => {
  const unsupported = await cliOn(
    'unsupported',
    await edited((m) => {
      m.graph!.node!.find((n) => n.opType === 'Relu')!.opType = 'Erf';
    }),
  );
  assert.equal(unsupported.code, 2, unsupported.stderr);
  assert.match(unsupported.stderr, /node "\/features\/features\.\d+\/Relu" \(Erf\): not a supported ONNX op/);

  const custom = await cliOn(
    'custom',
    await edited((m) => {
      const n = m.graph!.node!.find((x) => x.opType === 'Relu')!;
      n.domain = 'com.example';
      m.opsetImport!.push(onnx.OperatorSetIdProto.create({ domain: 'com.example', version: 1 }));
    }),
  );
  assert.equal(custom.code, 2, custom.stderr);
  assert.match(custom.stderr, /node "[^"]+" \(Relu\) is in operator domain "com\.example"/);

  const whole = await fs.readFile(SQUEEZE);
  for (const cut of [0.5, 0.999]) {
    const truncated = await cliOn(`truncated-${cut}`, whole.subarray(0, Math.floor(whole.length * cut)));
    assert.equal(truncated.code, 2, truncated.stderr);
    assert.ok(truncated.stderr.includes(truncated.file), truncated.stderr);
  }

  const trunk = await cliOn(
    'trunk',
    await edited((m) => {
      const concat = m.graph!.node!.filter((n) => n.opType === 'Concat').at(-1)!;
      m.graph!.output = [onnx.ValueInfoProto.create({ name: concat.output![0]! })];
    }),
    'classes: [1]\n',
  );
  assert.equal(trunk.code, 2, trunk.stderr);
  assert.match(trunk.stderr, /classes: the model has no classifier/);
});

it('an ONNX URL (any extension) is downloaded once as model.onnx, told by its content', { skip }, async () => {
  const server = await serveStatic(path.dirname(SQUEEZE), '/m/');
  const cacheDir = await tempDir('atlas-onnx-url-');
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  try {
    for (let i = 0; i < 2; i++) {
      const found = await resolveModel({ id: 'squeeze', source: `${server.url}model.onnx?download=1`, baseDir: cacheDir, cacheDir, fetchImpl: counting });
      assert.equal(path.basename(found.modelJson), 'model.onnx');
      assert.ok((await fs.readFile(found.modelJson)).equals(await fs.readFile(SQUEEZE)), 'downloaded intact');
    }
    assert.equal(requests, 1);
  } finally {
    await server.close();
  }
});

it('real ImageNet weights (MobileNet port): class images are top-1 when ONNX Runtime runs the original file on the PNGs', { skip }, async () => {
  const work = await tempDir('atlas-onnx-classes-');
  const config = await writeConfig(work, `model:\n  id: mobilenet-torch\n  source: ${JSON.stringify(MOBILENET)}\nclasses: [141, goldfish, espresso]\noutput: data\n`);
  const run = await runCli(['pipeline', '--config', config, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  const m = JSON.parse(await fs.readFile(path.join(work, 'data', 'manifest.json'), 'utf8')) as Manifest;
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(await fs.readFile(MOBILENET));
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  for (const u of m.units) {
    const { data } = await sharp(path.join(work, 'data', u.files!.png))
      .removeAlpha()
      .resize(224, 224, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const nchw = new Float32Array(3 * 224 * 224);
    for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) nchw[c * 224 * 224 + i] = (data[i * 3 + c]! / 255 - mean[c]!) / std[c]!;
    const out = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, 224, 224]) });
    const logits = Object.values(out)[0]!.data as Float32Array;
    const top = logits.indexOf(Math.max(...logits));
    assert.equal(top, u.index, `class ${u.index} (${u.label}): ONNX Runtime classifies its image as ${top}`);
  }
});
