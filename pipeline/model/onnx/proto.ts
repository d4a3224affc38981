/**
 * An ONNX file as untrusted input: the `ModelProto` decoded with the official schema (`onnx-proto`,
 * protobufjs) from bytes whose size is capped, then checked before anything is converted: only the
 * default operator domain (no custom domains, no model-local functions), one graph, tensors whose
 * declared dims match the data they carry (nothing is allocated from dims alone), and external data
 * only from files inside the model's folder, read within their bounds.
 */
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { AtlasError } from '../../errors.ts';

const { onnx } = onnxProto;

/** The decoded messages as plain objects (defaults filled, 64-bit integers as numbers): the fields read here. */
export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  dataLocation: number;
  externalData: { key: string; value: string }[];
}
export interface AttributeProto {
  name: string;
  f: number;
  i: number;
  s: Uint8Array;
  t?: TensorProto | null;
  ints: number[];
  floats: number[];
}
export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}
interface Dim {
  dimValue?: number | null;
  dimParam?: string | null;
}
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { shape?: { dim: Dim[] } | null } | null } | null;
}
export interface ModelProto {
  opsetImport: { domain: string; version: number }[];
  functions: { name: string }[];
  graph?: { node: NodeProto[]; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[] } | null;
}

/** Largest tensor (elements) read from a file: above any image model's layer (VGG16's fc1 has 103 M). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** The domains of the standard operators. */
const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/** A constant: float32 weights, or integers / doubles (shape arithmetic) as float64. */
export interface Const {
  dims: number[];
  data: Float32Array | Float64Array;
}

export function fail(file: string, message: string): never {
  throw new AtlasError(`${file}: ${message}`, { file, path: ['model', 'source'] });
}

/** The first bytes of an ONNX file: field 1 (ir_version, a small varint), as every exporter writes it first. */
export function looksLikeOnnx(head: Uint8Array): boolean {
  return head[0] === 0x08 && head[1] !== undefined && head[1] >= 3 && head[1] <= 30 && head[2] !== undefined && (head[2] & 0x07) <= 2;
}

/** Decodes and checks the model: one graph, standard operators only. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, defaults: true, arrays: true }) as ModelProto;
  } catch (err) {
    return fail(file, `cannot read it as an ONNX model (${(err as Error).message}); the file is truncated or corrupt`);
  }
  if (!model.graph) fail(file, 'the ONNX model has no graph; the file is truncated or corrupt');
  for (const n of model.graph.node) {
    if (!DEFAULT_DOMAINS.has(n.domain)) fail(file, `node "${n.name || n.output[0]}" (${n.opType}) is in operator domain "${n.domain}" (a custom operator, code the atlas never runs)`);
  }
  for (const o of model.opsetImport) {
    if (!DEFAULT_DOMAINS.has(o.domain)) fail(file, `the model imports operator domain "${o.domain}" (custom operators, code the atlas never runs); only the standard ONNX operators are supported`);
  }
  if (model.functions.length > 0) fail(file, `the model defines functions (${model.functions.map((f) => f.name).join(', ')}); only the standard ONNX operators are supported`);
  return model;
}

/** The standard opset the model imports. */
export function opsetOf(model: ModelProto): number {
  return model.opsetImport.find((o) => DEFAULT_DOMAINS.has(o.domain))?.version ?? 13;
}

/** TensorProto data types read here (the schema's numbers). */
const T = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
const EXTERNAL = 1;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** Bytes per element of the types read here. */
const WIDTH: Record<number, number | undefined> = { [T.FLOAT]: 4, [T.DOUBLE]: 8, [T.INT64]: 8, [T.INT32]: 4, [T.BOOL]: 1, [T.UINT8]: 1, [T.INT8]: 1 };

/**
 * External data of a tensor: its `location` must name a file inside the model's folder; the bytes
 * come from `offset` for `length` (checked against the file's size).
 */
function externalBytes(t: TensorProto, file: string, expected: number, seen?: Set<string>): Uint8Array {
  const entry = (key: string) => t.externalData.find((e) => e.key === key)?.value;
  const location = entry('location');
  const where = `tensor "${t.name}"`;
  if (!location) fail(file, `${where} has external data without a location`);
  const dir = path.dirname(path.resolve(file));
  const target = path.resolve(dir, location);
  if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..') || path.relative(dir, target).startsWith('..')) {
    fail(file, `${where} names external data "${location}", outside the model's folder; expected a file beside the model`);
  }
  seen?.add(target);
  const offset = Number(entry('offset') ?? 0);
  const length = Number(entry('length') ?? expected);
  if (!Number.isSafeInteger(offset) || offset < 0 || length !== expected) fail(file, `${where}: external data "${location}" at offset ${offset}, length ${length}; expected ${expected} bytes`);
  let fd: number;
  try {
    fd = fs.openSync(target, 'r');
  } catch (err) {
    return fail(file, `${where}: cannot read external data "${location}" beside the model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (offset + length > size) fail(file, `${where}: external data "${location}" holds ${size} bytes, fewer than offset ${offset} + length ${length} (truncated file?)`);
    const out = new Uint8Array(length);
    fs.readSync(fd, out, 0, length, offset);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** A tensor's values: float32 for FLOAT, float64 for the other numeric types; `seen` collects external data files. */
export function tensorValue(t: TensorProto, file: string, seen?: Set<string>): Const {
  const dims = t.dims.map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const where = `tensor "${t.name}"`;
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0) || count > MAX_TENSOR_ELEMENTS) fail(file, `${where} declares dims [${dims.join(', ')}]; expected at most ${MAX_TENSOR_ELEMENTS} values`);
  const width = WIDTH[t.dataType];
  if (width === undefined) fail(file, `${where} has data type ${onnx.TensorProto.DataType[t.dataType] ?? t.dataType}; expected float32 weights or integer shapes`);
  const external = t.dataLocation === EXTERNAL;
  const raw = external ? externalBytes(t, file, count * width, seen) : t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const float = t.dataType === (T.FLOAT as number);
  if (raw) {
    if (raw.length !== count * width) fail(file, `${where} holds ${raw.length} bytes for dims [${dims.join(', ')}], expected ${count * width} (truncated file?)`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (float) return { dims, data: LITTLE_ENDIAN ? new Float32Array(new Uint8Array(raw).buffer, 0, count) : Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true)) };
    const read = (i: number): number => {
      switch (t.dataType) {
        case T.DOUBLE:
          return view.getFloat64(i * 8, true);
        case T.INT64:
          return Number(view.getBigInt64(i * 8, true));
        case T.INT32:
          return view.getInt32(i * 4, true);
        case T.INT8:
          return view.getInt8(i);
        default:
          return view.getUint8(i);
      }
    };
    return { dims, data: Float64Array.from({ length: count }, (_, i) => read(i)) };
  }
  const typed: ArrayLike<number | { toString(): string }> = float ? t.floatData : t.dataType === T.DOUBLE ? t.doubleData : t.dataType === T.INT64 ? t.int64Data : t.int32Data;
  if (typed.length !== count) fail(file, `${where} holds ${typed.length} values for dims [${dims.join(', ')}], expected ${count} (truncated file?)`);
  const values = Array.from(typed, (v) => Number(v));
  return { dims, data: float ? Float32Array.from(values) : Float64Array.from(values) };
}

/** Attributes of a node by name (the value as the node holds it). */
export function attributes(n: NodeProto): Map<string, AttributeProto> {
  return new Map(n.attribute.map((a) => [a.name, a]));
}

export function attrInt(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? Number(a.i) : fallback;
}

export function attrFloat(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.f : fallback;
}

export function attrInts(n: NodeProto, name: string): number[] | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrString(n: NodeProto, name: string, fallback: string): string {
  const a = n.attribute.find((x) => x.name === name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}
