/**
 * An ONNX file against its lean graph: ONNX Runtime runs the original file with extra graph outputs
 * at mapped nodes (NCHW), the lean graph runs the same input (NHWC); the relative error per node.
 * Shared by `test/onnx-models.test.ts` and `bench/onnx-exports.ts` (exports made elsewhere).
 */
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { leanGraphOf, type LeanGraph } from '../../pipeline/engine/graph.ts';
import { loadOrt } from '../../pipeline/engine/onnx/runtime.ts';
import { readOnnx } from '../../pipeline/model/formats/onnx.ts';
import { relErr, rng } from './engine.ts';

const { onnx } = onnxProto;

/** The file with extra graph outputs, so ONNX Runtime returns those intermediate tensors. */
function withOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const name of names) model.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  return onnx.ModelProto.encode(model).finish();
}

/** NCHW (ONNX) → the lean graph's NHWC, for a rank-4 tensor; other ranks as they are. */
export function toNhwc(data: Float32Array, dims: readonly number[]): Float32Array {
  if (dims.length !== 4) return data;
  const [, c, h, w] = dims as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y * w + x) * c + ci] = data[(ci * h + y) * w + x]!;
  return out;
}

/** A few feature-map nodes spread over the graph (each holding an ONNX tensor), and the output. */
function pickNodes(graph: LeanGraph, tensors: Map<string, string>, count: number): string[] {
  const maps = graph.lowered.filter((n) => n.outputShape.length === 3 && tensors.has(n.name) && n.op.op !== 'input');
  const picked = Array.from({ length: count }, (_, i) => maps[Math.floor(((i + 1) * maps.length) / (count + 1))]?.name).filter((n): n is string => !!n);
  return [...new Set([...picked, graph.outputName])];
}

export interface NodeError {
  node: string;
  tensor: string;
  error: number;
}

/** Loads `bytes` as the atlas does and compares `count` spread nodes and the output with ONNX Runtime. */
export async function compareWithOrt(bytes: Uint8Array, file: string, count = 4): Promise<NodeError[]> {
  const { lowered, tensors } = readOnnx(bytes, file);
  const graph = leanGraphOf(lowered, { file });
  try {
    const targets = pickNodes(graph, tensors, count);
    const [h, w, c] = graph.inputShape;
    const random = rng(7);
    // Roughly torch-normalized pixels.
    const nchw = Float32Array.from({ length: c * h * w }, () => (random() - 0.5) * 4);
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(
      withOutputs(
        bytes,
        targets.map((t) => tensors.get(t)!),
      ),
    );
    const expected = await session.run({ [lowered.inputName]: new ort.Tensor('float32', nchw, [1, c, h, w]) });
    const actual = tf.tidy(() => graph.run(tf.tensor4d(toNhwc(nchw, [1, c, h, w]), [1, h, w, c]), targets).map((t) => t.dataSync() as Float32Array));
    return targets.map((node, i) => {
      const tensor = tensors.get(node)!;
      const ref = expected[tensor]!;
      return { node, tensor, error: relErr(actual[i]!, toNhwc(ref.data as Float32Array, ref.dims)) };
    });
  } finally {
    graph.dispose();
  }
}
