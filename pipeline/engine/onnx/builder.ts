/**
 * A small ONNX graph builder over the official protobuf schema (`onnx-proto`, protobufjs): nodes
 * with typed attributes, float/int64 constants as initializers, fresh tensor names, and the encoded
 * `ModelProto`. The compiler (`compile.ts`) and the per-op rules (`rules-*.ts`) only call `op`,
 * `constant` and `ints`; nothing here knows about layers.
 *
 * Equal float constants are stored once (by content): a graph that instantiates the network several
 * times (`chain.ts`: K steps unrolled) holds its weights, and the rules' derived weights, once.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Opset 17: ScatterElements with reduction (16), Split's sizes as an input (13). */
export const OPSET = 17;
/** IR version 8 is what opset 17 models declare (ONNX 1.12). */
const IR_VERSION = 8;

/** Integers (INT), integer lists (INTS), strings, `{f}` for a FLOAT (1.0 must stay a float), `{floats}`. */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] };

/** Builds one ONNX graph: call `op` in topological order, then `encode`. */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly scalars = new Map<string, string>();
  /** Float constants by a cheap fingerprint; equal contents share one initializer. */
  private readonly byContent = new Map<string, { data: Uint32Array; name: string }[]>();
  private counter = 0;

  /** A fresh tensor name with a readable stem (names only need to be unique). */
  fresh(stem: string): string {
    return `${stem.replace(/[^A-Za-z0-9_/.-]/g, '_')}#${this.counter++}`;
  }

  /**
   * One node; returns its output names (`outputs` of them, fresh).
   */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(type));
    this.nodes.push(onnx.NodeProto.create({ opType: type, input: inputs, output: out, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }));
    return out;
  }

  /** `op` with one output. */
  op1(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(type, inputs, attrs)[0]!;
  }

  /** A float32 initializer; one already holding the same dims and values is reused. */
  constant(data: Float32Array, dims: number[], stem = 'w'): string {
    const bits = new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    const key = `${dims.join(',')}|${fingerprint(bits)}`;
    const same = this.byContent.get(key)?.find((c) => equalWords(c.data, bits));
    if (same) return same.name;
    const name = this.fresh(stem);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(bits.buffer) }));
    const list = this.byContent.get(key) ?? [];
    list.push({ data: bits, name });
    this.byContent.set(key, list);
    return name;
  }

  /** A float32 scalar, shared by every use of the same value. */
  scalar(value: number): string {
    const key = `f${value}`;
    let name = this.scalars.get(key);
    if (!name) this.scalars.set(key, (name = this.constant(Float32Array.of(value), [], 'c')));
    return name;
  }

  /** An int64 vector initializer (shapes, axes, pads), shared by equal values. */
  ints(values: number[]): string {
    const key = `i${values.join(',')}`;
    let name = this.scalars.get(key);
    if (name) return name;
    name = this.fresh('i');
    const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw }));
    this.scalars.set(key, name);
    return name;
  }

  /** A float graph input or output [batch (dynamic), ...dims]. */
  input(name: string, dims: number[]): void {
    this.inputs.push(valueInfo(name, dims));
  }

  output(name: string, dims: number[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** A graph input with every dimension given (a string names a dynamic one); float32 unless `int64`. */
  inputExact(name: string, dims: (number | string)[], type: 'float32' | 'int64' = 'float32'): void {
    this.inputs.push(exactInfo(name, dims, type));
  }

  /** A float32 graph output with every dimension given (a string names a dynamic one). */
  outputExact(name: string, dims: (number | string)[]): void {
    this.outputs.push(exactInfo(name, dims, 'float32'));
  }

  /** Renames tensor `from` to `to` with an Identity (graph outputs need fixed names). */
  rename(from: string, to: string): void {
    this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [from], output: [to] }));
  }

  /** The serialized model. */
  encode(name: string): Uint8Array {
    const graph = onnx.GraphProto.create({ name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs });
    const model = onnx.ModelProto.create({ irVersion: IR_VERSION, producerName: 'filter-atlas', graph, opsetImport: [{ domain: '', version: OPSET }] });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  if ('f' in v) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
  return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.floats });
}

function valueInfo(name: string, dims: number[]) {
  return exactInfo(name, ['batch', ...dims], 'float32');
}

function exactInfo(name: string, dims: (number | string)[], type: 'float32' | 'int64') {
  const dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  const elemType = type === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT;
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim } } } });
}

/** FNV-1a over the length and up to 64 evenly spaced words: cheap, and exact equality is checked after. */
function fingerprint(words: Uint32Array): string {
  let h = 0x811c9dc5 ^ words.length;
  const stride = Math.max(1, Math.floor(words.length / 64));
  for (let i = 0; i < words.length; i += stride) h = Math.imul(h ^ words[i]!, 0x01000193) >>> 0;
  return `${words.length}:${h}`;
}

function equalWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
