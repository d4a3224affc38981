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

/** A call's operands: layer names of tensors, and numbers (the 3.0 of `x + 3.0` in an op node). */
type Operand = string | number;

/** Every `keras_history` layer name and number in a Keras 3 call's args, in order. */
function operands(v: unknown, out: Operand[] = []): Operand[] {
  if (Array.isArray(v)) for (const x of v) operands(x, out);
  else if (typeof v === 'number') out.push(v);
  else if (v && typeof v === 'object' && (v as Json).class_name === '__keras_tensor__') {
    const history = ((v as Json).config as Json | undefined)?.keras_history;
    out.push(String(Array.isArray(history) ? history[0] : history));
  }
  return out;
}

/**
 * What a layer is called on, from either dialect's `inbound_nodes`. Keras 2 passes a TFOpLambda's
 * second operand (tensor or number) as the kwarg `y`.
 */
function callOf(layer: Json, file: string): Operand[] {
  const nodes = layer.inbound_nodes as unknown[] | undefined;
  if (!nodes || nodes.length === 0) return [];
  const name = String((layer.config as Json)?.name ?? layer.name);
  if (nodes.length > 1) fail(file, `layer "${name}" is called ${nodes.length} times (a shared layer); only layers used once are supported`);
  const node = nodes[0];
  if (!Array.isArray(node)) return operands((node as Json).args);
  const out: Operand[] = node.map((t) => String((t as unknown[])[0]));
  const y = ((node[0] as unknown[])?.[3] as Json | undefined)?.y;
  if (layer.class_name === 'TFOpLambda' && typeof y === 'number') out.push(y);
  if (layer.class_name === 'TFOpLambda' && Array.isArray(y) && typeof y[0] === 'string') out.push(y[0]);
  return out;
}

/** Keras 3 saves `x + 3.0` on a symbolic tensor as an op node (module keras.src.ops.*): class "ops.Add". */
function classOf(layer: Json): string {
  const module = typeof layer.module === 'string' ? layer.module : '';
  return /^keras(\.src)?\.ops\b/.test(module) ? `ops.${String(layer.class_name)}` : String(layer.class_name);
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
    fail(file, `${where} has input shape [${shape.map((d) => (d === null ? 'None' : JSON.stringify(d))).join(', ')}]; expected an image input [batch, height, width, channels] with fixed sizes`);
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

/** Keras 3 marks objects outside Keras by their module or a "package>Name" registered name. */
function customName(layer: Json): string | undefined {
  const registered = typeof layer.registered_name === 'string' ? layer.registered_name : undefined;
  const module = typeof layer.module === 'string' ? layer.module : undefined;
  if (registered?.includes('>')) return registered;
  if (module && !module.startsWith('keras')) return `${module}.${String(layer.class_name)}`;
  return undefined;
}

interface Level {
  prefix: string;
  names: string[];
  keras3Path: string;
}

function addLeaf(s: Scope, layer: Json, cfg: Json, name: string, call: Operand[], where: LayerLocation): string {
  const className = classOf(layer);
  const inbound = call.filter((o): o is string => typeof o === 'string');
  const args = call.some((o) => typeof o === 'number') ? { args: call } : {};
  if (className === 'InputLayer') {
    const shape = shapeOf(cfg);
    if (s.input) return inbound[0] ?? fail(s.file, `input layer "${name}" is a second model input; only single-input image models are supported`);
    s.input = { name, shape: imageShape(shape ?? [], s.file, `input layer "${name}"`) };
    s.out.push({ name, className, config: cfg, inbound: [], weights: [] });
    return name;
  }
  const custom = customName(layer);
  // A custom object's weights are not read: the model is refused at lowering, naming it.
  s.out.push({ name, className, config: cfg, inbound, weights: custom ? [] : s.read({ className, config: cfg, name }, where), ...(custom ? { custom } : {}), ...args });
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
    let call: Operand[];
    if (sequential) call = previous;
    else if (layer.class_name === 'InputLayer') call = fed.length ? [fed[functionalInputs.indexOf(local)] ?? fed[0]!] : [];
    else call = callOf(layer, s.file).map((n) => (typeof n === 'number' ? n : (alias.get(n) ?? fail(s.file, `layer "${name}" reads "${n}", which is not defined before it`))));
    let outputs: string[];
    if (MODEL_CLASSES.has(String(layer.class_name))) {
      const inbound = call.filter((o): o is string => typeof o === 'string');
      outputs = flattenModel(s, layer, { prefix: `${name}/`, names: where.names, keras3Path: `${where.keras3Path}/` }, inbound);
    } else outputs = [addLeaf(s, layer, lc ?? {}, name, call, where)];
    alias.set(local, outputs[0]!);
    previous = outputs;
  }
  if (sequential) return previous;
  const outs = endpointNames(cfg.output_layers);
  return outs.map((n) => alias.get(n) ?? fail(s.file, `model "${String(cfg.name)}" names output "${n}", which is none of its layers`));
}

/** Unwraps `{model_config: …}` (TF.js modelTopology) and checks it is a model config. */
function modelConfigOf(json: unknown, file: string): Json {
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
  if (outputs.length === 0) fail(file, 'the model config names no output layer');
  const named = (model.config as Json).name;
  const name = typeof named === 'string' ? named : 'model';
  return { name, inputName: s.input.name, inputShape: s.input.shape, layers: s.out, outputs, dialect: s.dialect };
}
