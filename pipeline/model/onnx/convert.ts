/**
 * An ONNX graph (NCHW, as `torch.onnx.export` writes it) → lean nodes (NHWC), once, at load:
 * - every op type is checked first: one the atlas cannot run exactly is refused before any work,
 *   naming the node and the op;
 * - nodes run in file order over values that are constants (folded: shape subgraphs) or feature
 *   maps (a lean node, with the ONNX shape it stands for); `feature-ops.ts` maps each op;
 * - weights are transposed to the lean layouts; channel axes become the last axis; a flatten of a
 *   map keeps its NCHW order by permuting the next dense layer's rows;
 * - reshapes and slices over channels (channel shuffle, `chunk`) are channel views, made into one
 *   fixed channel-selection node where something reads them;
 * - batch norm right after a convolution is folded into it; nodes nothing reads are dropped;
 * - names are PyTorch module paths (`names.ts`).
 */
import { findLogitNode, foldAffine, type LeanNode, type LoweredGraph } from '../../engine/lower.ts';
import type { LeanOp } from '../../engine/ops.ts';
import { inferShape } from '../../engine/shapes.ts';
import { FEATURE_OPS, materialize, type OpContext, type Value } from './feature-ops.ts';
import { FOLD_OPS, FoldError, fold, type FoldArgs } from './fold.ts';
import { assignNames, modulePath } from './names.ts';
import { attrInt, attrInts, fail, opsetOf, tensorValue, type Const, type ModelProto, type NodeProto } from './proto.ts';

export const SUPPORTED_OPS = new Set([...Object.keys(FEATURE_OPS), ...FOLD_OPS]);

/** The side of a square input whose size the file leaves open. */
const DEFAULT_SIZE = 224;

export interface ConvertedOnnx {
  lowered: LoweredGraph;
  /** Lean node name → the ONNX tensor it holds (NHWC here, NCHW there): for equality tests. */
  tensors: Map<string, string>;
  /** External data files the weights came from (part of the weights hash). */
  externalFiles: string[];
}

/** Refuses every node whose op the atlas lacks, before any work. */
function checkOps(model: ModelProto, file: string): void {
  const bad = model.graph!.node.filter((n) => !SUPPORTED_OPS.has(n.opType));
  if (bad.length === 0) return;
  const list = bad.slice(0, 5).map((n) => `node "${n.name || n.output[0]}" (${n.opType})`);
  const more = bad.length > 5 ? ` (and ${bad.length - 5} more)` : '';
  fail(file, `${list.join('; ')}${more}: not a supported ONNX op. Supported: ${[...SUPPORTED_OPS].sort().join(', ')}`);
}

interface Pending {
  node: LeanNode;
  module: string;
  opType: string;
  fallback: string;
  tensor?: string;
}

function imageInput(model: ModelProto, file: string): { name: string; shape: number[] } {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) fail(file, `the graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); expected one image input`);
  const input = inputs[0]!;
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const sizes = dims.map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : undefined));
  if (dims.length !== 4 || sizes[1] === undefined) fail(file, `input "${input.name}" has shape [${sizes.map((s) => s ?? '?').join(', ')}]; expected an image batch [N, channels, height, width]`);
  return { name: input.name, shape: [1, sizes[1]!, sizes[2] ?? DEFAULT_SIZE, sizes[3] ?? DEFAULT_SIZE] };
}

/** The fold arguments of a node: its attributes by the opset's rules. */
function foldArgs(n: NodeProto, inputs: (Const | undefined)[], file: string): FoldArgs {
  const attr: FoldArgs['attr'] = {};
  for (const a of n.attribute) {
    if (a.name === 'axis') attr.axis = Number(a.i);
    else if (a.name === 'axes') attr.axes = a.ints.map(Number);
    else if (a.name === 'perm') attr.perm = a.ints.map(Number);
    else if (a.name === 'to') attr.to = Number(a.i);
    else if (a.name === 'keepdims') attr.keepdims = Number(a.i);
    else if (a.name === 'starts') attr.starts = a.ints.map(Number);
    else if (a.name === 'ends') attr.ends = a.ints.map(Number);
    else if (a.name === 'value' && a.t) attr.value = tensorValue(a.t, file);
  }
  return { op: n.opType, inputs, attr };
}

/** A Constant node's value, whichever attribute holds it. */
function constantValue(n: NodeProto, file: string): Const {
  const a = n.attribute[0];
  if (a?.name === 'value' && a.t) return tensorValue(a.t, file);
  if (a?.name === 'value_float') return { dims: [], data: Float32Array.of(a.f) };
  if (a?.name === 'value_floats') return { dims: [a.floats.length], data: Float32Array.from(a.floats) };
  if (a?.name === 'value_int') return { dims: [], data: Float64Array.of(Number(a.i)) };
  if (a?.name === 'value_ints') return { dims: [a.ints.length], data: Float64Array.from(a.ints.map(Number)) };
  return fail(file, `node "${n.name || n.output[0]}" (Constant) holds ${a?.name ?? 'nothing'}; expected a tensor or numbers`);
}

export function convertOnnx(model: ModelProto, file: string): ConvertedOnnx {
  checkOps(model, file);
  const g = model.graph!;
  const opset = opsetOf(model);
  const values = new Map<string, Value>();
  const external = new Set<string>();
  for (const t of g.initializer) values.set(t.name, { kind: 'const', c: tensorValue(t, file, external) });
  const input = imageInput(model, file);
  const [, c, h, w] = input.shape as [number, number, number, number];
  const inputNode: LeanNode = { name: input.name, className: 'InputLayer', inputs: [], op: { op: 'input' }, outputShape: [h, w, c] };
  const nodes = new Map<string, LeanNode>([[input.name, inputNode]]);
  const pending: Pending[] = [];
  values.set(input.name, { kind: 'feat', node: input.name, shape: input.shape, nonneg: false });
  let counter = 0;
  const contextFor = (n: NodeProto, refuse: (message: string) => never): OpContext => ({
    node: n,
    opset,
    file,
    refuse,
    ints: (name) => attrInts(n, name),
    int: (name, fallback) => attrInt(n, name, fallback),
    emit(op: LeanOp, ins: string[], opType = n.opType, className = opType, origin = n) {
      const id = `#${counter++}`;
      const node: LeanNode = {
        name: id,
        className,
        inputs: ins,
        op,
        outputShape: inferShape(
          op,
          ins.map((i) => nodes.get(i)!.outputShape),
        ),
      };
      nodes.set(id, node);
      // A pad before a window, a split's selections: nodes that hold no ONNX tensor of their own.
      const holds = !(opType === 'Pad' && origin.opType !== 'Pad') && origin.opType !== 'Split';
      pending.push({ node, module: modulePath(origin.name), opType, fallback: origin.name || origin.output[0] || opType, ...(holds && origin.output[0] ? { tensor: origin.output[0] } : {}) });
      return id;
    },
    leanShape: (id) => nodes.get(id)!.outputShape,
    leanOp: (id) => nodes.get(id)!.op,
    leanInputs: (id) => nodes.get(id)!.inputs,
  });

  for (const n of g.node) {
    const where = `node "${n.name || n.output[0]}" (${n.opType})`;
    const refuse = (message: string): never => fail(file, `${where}: ${message}`);
    const inputs = n.input.map((name) => {
      if (!name) return undefined;
      const v = values.get(name);
      if (!v) refuse(`its input "${name}" is not produced by any earlier node`);
      return v;
    });
    let out: Value | Value[];
    if (n.opType === 'Constant') out = { kind: 'const', c: constantValue(n, file) };
    else if (FOLD_OPS.has(n.opType) && inputs.every((v) => !v || v.kind === 'const') && !(n.opType === 'Shape')) {
      try {
        out = {
          kind: 'const',
          c: fold(
            foldArgs(
              n,
              inputs.map((v) => (v as { c: Const } | undefined)?.c),
              file,
            ),
          ),
        };
      } catch (err) {
        if (!(err instanceof FoldError)) throw err;
        return refuse(`cannot fold its constants: ${err.message}`);
      }
    } else if (n.opType === 'Shape') {
      const v = inputs[0]!;
      const dims = v.kind === 'const' ? v.c.dims : v.shape;
      const start = attrInt(n, 'start', 0);
      const end = n.attribute.some((a) => a.name === 'end') ? attrInt(n, 'end', dims.length) : dims.length;
      out = {
        kind: 'const',
        c: {
          dims: [dims.slice(start < 0 ? start + dims.length : start, end < 0 ? end + dims.length : end).length],
          data: Float64Array.from(dims.slice(start < 0 ? start + dims.length : start, end < 0 ? end + dims.length : end)),
        },
      };
    } else {
      const handler = FEATURE_OPS[n.opType];
      if (!handler) return refuse('only folds over constants here, and one of its inputs is a feature map');
      const ctx = contextFor(n, refuse);
      out = handler(ctx, inputs);
    }
    const outs = Array.isArray(out) ? out : [out];
    n.output.forEach((name, i) => {
      if (name && outs[i]) values.set(name, outs[i]!);
    });
  }

  const outName = g.output[0]?.name;
  const outValue = outName ? values.get(outName) : undefined;
  if (!outValue || outValue.kind !== 'feat') return fail(file, `the graph's output "${outName}" is not computed from its input`);
  const last = g.node[g.node.length - 1]!;
  const outputFeat = materialize(
    contextFor(last, (m) => fail(file, m)),
    outValue,
    'output',
  );
  return { ...finish(inputNode, pending, nodes, outputFeat.node, file), externalFiles: [...external].sort() };
}

/** Folds batch norms, drops unread nodes, names everything. */
function finish(inputNode: LeanNode, pending: Pending[], nodes: Map<string, LeanNode>, output: string, file: string): Omit<ConvertedOnnx, 'externalFiles'> {
  const consumers = (list: Pending[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const p of list) for (const i of p.node.inputs) counts.set(i, (counts.get(i) ?? 0) + 1);
    return counts;
  };
  const counts = consumers(pending);
  for (const p of pending) {
    const bn = p.node;
    if (p.opType !== 'BatchNormalization' || bn.op.op !== 'affine') continue;
    const src = nodes.get(bn.inputs[0]!);
    if (!src || src.op.op !== 'conv2d' || src.op.activation !== 'linear' || counts.get(src.name) !== 1) continue;
    src.op = foldAffine(src.op, bn.op.scale.data, bn.op.shift.data);
    bn.op = { op: 'identity' };
    bn.foldedInto = src.name;
  }
  // Nodes nothing reads (a sigmoid fused into SiLU, shape-only branches) are dropped.
  let kept = pending;
  for (;;) {
    const read = consumers(kept);
    const next = kept.filter((p) => p.node.name === output || (read.get(p.node.name) ?? 0) > 0);
    if (next.length === kept.length) break;
    kept = next;
  }
  const names = assignNames(kept, new Set([inputNode.name]));
  const rename = new Map(kept.map((p, i) => [p.node.name, names[i]!]));
  const renamed = (id: string) => rename.get(id) ?? id;
  const tensors = new Map<string, string>();
  const out: LeanNode[] = [inputNode];
  for (const p of kept) {
    const node: LeanNode = { ...p.node, name: renamed(p.node.name), inputs: p.node.inputs.map(renamed) };
    if (p.node.foldedInto) node.foldedInto = renamed(p.node.foldedInto);
    out.push(node);
    if (p.tensor) tensors.set(node.name, p.tensor);
  }
  const outputName = renamed(output);
  if (outputName === inputNode.name) fail(file, 'the graph computes nothing from its input');
  const [h, w, c] = inputNode.outputShape as [number, number, number];
  return { lowered: { inputName: inputNode.name, inputShape: [h, w, c], nodes: out, outputName, logitNode: findLogitNode(out, outputName) }, tensors };
}
