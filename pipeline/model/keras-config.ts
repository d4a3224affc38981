/**
 * Keras model config (JSON) → `ModelSpec`, for both dialects:
 * - Keras 2 and TF.js: `batch_input_shape`, `inbound_nodes: [[[name, node, tensor, kwargs], …]]`;
 * - Keras 3: `batch_shape`, dtype-policy objects, `module`/`registered_name`,
 *   `inbound_nodes: [{args: [{class_name: "__keras_tensor__", config: {keras_history: [name, …]}}]}]`.
 * Nested models are flattened (names: see spec.ts). Only the config is read here; a format's
 * `WeightReader` supplies each layer's weights. Nothing in a config is ever executed: a `Lambda`
 * or custom layer is refused by `engine/lower.ts` before any work.
 */
import { AtlasError } from '../errors.ts';
import { snakeCase, type LayerLocation, type LayerSpec, type ModelSpec, type WeightReader } from './spec.ts';

type Json = Record<string, unknown>;
const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

interface Scope {
  file: string;
  read: WeightReader;
  out: LayerSpec[];
  dialect: 2 | 3;
  input?: { name: string; shape: [number, number, number] };
}

function fail(file: string, message: string): never {
  throw new AtlasError(`${file}: ${message}`, { file, path: ['model', 'source'] });
}

/** Every `keras_history` layer name in a Keras 3 call's args, in order. */
function historyNames(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) historyNames(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Json;
    if (o.class_name === '__keras_tensor__') out.push(String(((o.config as Json).keras_history as unknown[])[0]));
  }
  return out;
}

/** The layer names a layer is called on, from either dialect's `inbound_nodes`. */
function inboundOf(layer: Json, file: string): string[] {
  const nodes = layer.inbound_nodes as unknown[] | undefined;
  if (!nodes || nodes.length === 0) return [];
  const name = String((layer.config as Json)?.name ?? layer.name);
  if (nodes.length > 1) fail(file, `layer "${name}" is called ${nodes.length} times (a shared layer); only layers used once are supported`);
  const node = nodes[0];
  if (Array.isArray(node)) return node.map((t) => String((t as unknown[])[0]));
  return historyNames((node as Json).args);
}

/** `[[name, 0, 0], …]` (Keras 2) or `[name, 0, 0]` (Keras 3, one tensor) → names. */
function endpointNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === 'string') return [v[0]];
  return v.map((t) => String((t as unknown[])[0]));
}

function shapeOf(cfg: Json): unknown[] | undefined {
  return (cfg.batch_input_shape ?? cfg.batch_shape) as unknown[] | undefined;
}

function imageShape(shape: unknown[], file: string, where: string): [number, number, number] {
  if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number' || d <= 0)) {
    fail(file, `${where} has input shape [${shape.map((d) => (d === null ? 'None' : d)).join(', ')}]; expected an image input [batch, height, width, channels] with fixed sizes`);
  }
  return shape.slice(1) as [number, number, number];
}

/** Keras 3 names a layer's weights by class (conv2d, conv2d_1, …) per container, not by layer name. */
function slotNamer(): (className: string) => string {
  const used = new Map<string, number>();
  return (className) => {
    const base = snakeCase(className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  };
}

interface Level {
  prefix: string;
  names: string[];
  keras3Path: string;
}

function addLeaf(s: Scope, layer: Json, cfg: Json, name: string, inbound: string[], where: LayerLocation): string {
  const className = String(layer.class_name);
  if (className === 'InputLayer') {
    const shape = shapeOf(cfg);
    if (s.input) return inbound[0] ?? fail(s.file, `input layer "${name}" is a second model input; only single-input image models are supported`);
    s.input = { name, shape: imageShape(shape ?? [], s.file, `input layer "${name}"`) };
    s.out.push({ name, className, config: cfg, inbound: [], weights: [] });
    return name;
  }
  s.out.push({ name, className, config: cfg, inbound, weights: s.read({ className, config: cfg, name }, where) });
  return name;
}

/** Sequential or Functional config at one nesting level; returns the flattened output names. */
function flattenModel(s: Scope, model: Json, level: Level, fed: string[]): string[] {
  const cfg = model.config as Json;
  const layers = (Array.isArray(cfg) ? cfg : (cfg.layers as Json[] | undefined)) ?? [];
  const sequential = model.class_name === 'Sequential';
  const alias = new Map<string, string>();
  const slot = slotNamer();
  if (sequential && fed.length === 0 && !s.input) {
    // A Sequential whose first layer carries the input shape instead of an InputLayer.
    const first = layers[0]?.config as Json | undefined;
    const shape = (first && shapeOf(first)) ?? (cfg.build_input_shape as unknown[] | undefined);
    if (shape && layers[0]?.class_name !== 'InputLayer') addLeaf(s, { class_name: 'InputLayer' }, { batch_input_shape: shape }, `${level.prefix}input`, [], { names: [], keras3Path: '' });
  }
  let previous: string[] = fed.length ? fed : s.input ? [s.input.name] : [];
  const functionalInputs = endpointNames(cfg.input_layers);
  for (const layer of layers) {
    const lc = layer.config as Json;
    const local = String(lc?.name ?? layer.name);
    const name = level.prefix + local;
    const where: LayerLocation = { names: [...level.names, local], keras3Path: `${level.keras3Path}layers/${slot(String(layer.class_name))}` };
    let inbound: string[];
    if (sequential) inbound = previous;
    else if (layer.class_name === 'InputLayer') inbound = fed.length ? [fed[functionalInputs.indexOf(local)] ?? fed[0]!] : [];
    else inbound = inboundOf(layer, s.file).map((n) => alias.get(n) ?? fail(s.file, `layer "${name}" reads "${n}", which is not defined before it`));
    let outputs: string[];
    if (MODEL_CLASSES.has(String(layer.class_name))) {
      outputs = flattenModel(s, layer, { prefix: `${name}/`, names: where.names, keras3Path: `${where.keras3Path}/` }, inbound);
    } else outputs = [addLeaf(s, layer, lc ?? {}, name, inbound, where)];
    alias.set(local, outputs[0]!);
    previous = outputs;
  }
  if (sequential) return previous;
  const outs = endpointNames(cfg.output_layers);
  return outs.map((n) => alias.get(n) ?? fail(s.file, `model "${String(cfg.name)}" names output "${n}", which is none of its layers`));
}

/** Unwraps `{model_config: …}` (TF.js modelTopology) and checks it is a model config. */
export function modelConfigOf(json: unknown, file: string): Json {
  let top = json as Json;
  if (top && typeof top === 'object' && top.model_config) top = top.model_config as Json;
  if (!top || typeof top !== 'object' || !MODEL_CLASSES.has(String(top.class_name))) {
    fail(file, `the model config is not a Keras Sequential or Functional model (class_name "${String(top?.class_name)}")`);
  }
  return top;
}

/** Whether the config is Keras 3's dialect. */
function isKeras3(model: Json): boolean {
  const text = JSON.stringify(model);
  return text.includes('"batch_shape"') || text.includes('"module"') || text.includes('__keras_tensor__');
}

export function specFromConfig(json: unknown, read: WeightReader, file: string): ModelSpec {
  const model = modelConfigOf(json, file);
  const s: Scope = { file, read, out: [], dialect: isKeras3(model) ? 3 : 2 };
  const outputs = flattenModel(s, model, { prefix: '', names: [], keras3Path: '' }, []);
  if (!s.input) fail(file, 'the model config has no input layer and no input shape; expected an image model built with an Input or input_shape');
  if (outputs.length !== 1) fail(file, `the model has ${outputs.length} outputs; only single-output image models are supported`);
  const name = String((model.config as Json).name ?? 'model');
  return { name, inputName: s.input.name, inputShape: s.input.shape, layers: s.out, outputs, dialect: s.dialect };
}
