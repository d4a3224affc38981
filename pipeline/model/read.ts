/**
 * One entry point from a model file to what the pipeline runs: detect the format by content (ZIP,
 * HDF5, JSON or ONNX protobuf signature, not the extension), read it into a `ModelSpec` (Keras, TF.js)
 * or straight into lean nodes (ONNX), build the lean graph.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildLeanGraph, leanGraphOf, type LeanGraph, type LeanGraphOptions } from '../engine/graph.ts';
import { AtlasError } from '../errors.ts';
import { HDF5_SIGNATURE } from './formats/hdf5.ts';
import { readKerasH5, readKerasZip, MAX_WEIGHTS_BYTES } from './formats/keras.ts';
import { looksLikeOnnx, readOnnx } from './formats/onnx.ts';
import { readTfjsSpec } from './formats/tfjs.ts';
import type { ModelSpec } from './spec.ts';

export type ModelFormat = 'tfjs' | 'keras' | 'h5' | 'onnx';

export interface LoadedModelSpec {
  spec: ModelSpec;
  /** sha256 of what determines the weights (the file, or model.json and its shards). */
  weightsHash: string;
  format: ModelFormat;
}

/** The largest model file read: the cap on a `.keras` file's weights, which the whole file may reach. */
const MAX_MODEL_FILE_BYTES = MAX_WEIGHTS_BYTES;

function fail(file: string, message: string): never {
  throw new AtlasError(`${file}: ${message}`, { file, path: ['model', 'source'] });
}

export function detectFormat(head: Uint8Array): ModelFormat | undefined {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'keras';
  if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return 'h5';
  const text = Buffer.from(head.subarray(0, 64)).toString('utf8').trimStart();
  if (text.startsWith('{')) return 'tfjs';
  return looksLikeOnnx(head) ? 'onnx' : undefined;
}

async function readBytes(file: string): Promise<Buffer> {
  const stat = await fs.stat(file).catch((err: NodeJS.ErrnoException) => fail(file, `cannot read the model file (${err.code ?? err.message})`));
  // loadModelSpec maps a folder to its model.json first: a folder here is a model.json that is one.
  if (stat.isDirectory()) fail(file, 'is a folder, not a model file');
  if (stat.size > MAX_MODEL_FILE_BYTES) fail(file, `the model file is ${stat.size} bytes, more than the ${MAX_MODEL_FILE_BYTES} a model may be`);
  if (stat.size === 0) fail(file, 'the model file is empty');
  return fs.readFile(file);
}

/** Any supported model file (or TF.js folder) → ModelSpec. */
export async function loadModelSpec(file: string): Promise<LoadedModelSpec> {
  const target = (await fs.stat(file).catch(() => undefined))?.isDirectory() ? path.join(file, 'model.json') : file;
  const bytes = await readBytes(target);
  const format = detectFormat(bytes);
  if (format === 'tfjs') {
    const { spec, weightsHash } = await readTfjsSpec(target, bytes.toString('utf8'));
    return { spec, weightsHash, format };
  }
  const weightsHash = createHash('sha256').update(bytes).digest('hex');
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'keras') return { spec: await readKerasZip(u8, target), weightsHash, format };
  if (format === 'h5') return { spec: await readKerasH5(u8, target), weightsHash, format };
  if (format === 'onnx') return fail(target, 'is an ONNX model, which maps to lean nodes directly (loadModel), not to a Keras spec');
  return fail(target, 'not a model file: expected a Keras .keras (ZIP), a Keras .h5 (HDF5), an ONNX .onnx or a TF.js model.json');
}

export interface LoadedModelFile {
  graph: LeanGraph;
  /** The Keras-level spec (Keras and TF.js files; an ONNX file maps to lean nodes directly). */
  spec?: ModelSpec;
  weightsHash: string;
  format: ModelFormat;
}

/** An ONNX file → lean graph; the weights hash covers its external data files too. */
async function loadOnnx(file: string, bytes: Buffer, options: LeanGraphOptions): Promise<LoadedModelFile> {
  const { lowered, externalFiles } = readOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  const hash = createHash('sha256').update(bytes);
  for (const f of externalFiles) hash.update(await fs.readFile(f));
  return { graph: leanGraphOf(lowered, { file, ...options }), weightsHash: hash.digest('hex'), format: 'onnx' };
}

/** Model file → spec → lean graph; an unsupported layer is an AtlasError before any work. */
export async function loadModel(file: string, options: LeanGraphOptions = {}): Promise<LoadedModelFile> {
  const isFile = (await fs.stat(file).catch(() => undefined))?.isFile();
  if (isFile) {
    const bytes = await readBytes(file);
    if (detectFormat(bytes) === 'onnx') return loadOnnx(file, bytes, options);
  }
  const loaded = await loadModelSpec(file);
  let graph: LeanGraph;
  try {
    graph = buildLeanGraph(loaded.spec, { file, ...options });
  } catch (err) {
    if (err instanceof AtlasError) throw err;
    return fail(file, (err as Error).message);
  }
  return { ...loaded, graph };
}
