/**
 * The chain compiler: K steps of the render loop as one ONNX model, unrolled over shared weights.
 * Per step: the method's prefix (state → model input, `chain-step.ts`), the network's forward and
 * input gradient (`compile.ts` `emitGradient`), the objective's value, the dead-unit test
 * (`render/movable.ts`), the method's update, and masks that keep the state of units that must not
 * move. Only linear heads are compiled: their gradient at the features is a constant, fed as `dA`
 * with the head's value at zero features (`offset`), so value = Σ features·dA + offset.
 *
 * Inputs: every state tensor `<name>` ([B, ...shape], host layout), `dA` [B, ...features] (Keras
 * layout), `offset` [B], `active` [B] (1: the unit steps; 0: it is finished and keeps its state),
 * `frameAt` [F] (step indices as floats: which of the K steps' images to return), and the method's step inputs.
 * Outputs: `<name>_out` (the state after K steps), `values` [K, B] (objective − penalty before each
 * step, what the loop records), `moved` [K, B] (1 where the unit stepped), `frames` [F, B, h, w, 3]
 * (the canonical image before each step `frameAt` names).
 */
import type { FeatureRead } from '../engine.ts';
import { FLOAT32_RESOLUTION, inputWidths } from '../../render/movable.ts';
import type { BatchAxes } from './batch-split.ts';
import { GraphBuilder } from './builder.ts';
import type { ChainContext, OnnxStep } from './chain-step.ts';
import { emitGradient, type LeanNode } from './compile.ts';
import { channelConstant, fromKeras, isImage, toKeras, type Val } from './rule.ts';

export interface CompiledChain {
  model: Uint8Array;
  /** The read's Keras shape without batch (dA's shape). */
  featureShape: number[];
  /** Each input's and output's batch axis, for a run split by images (`batch-split.ts`). */
  batchAxes: BatchAxes;
}

/** The objective's value per image: Σ over all but the batch axis of features·dA, plus the head's offset. */
function linearValue(b: GraphBuilder, features: Val, dA: string, offset: string): string {
  const axes = b.ints(features.shape.map((_, i) => i + 1));
  return b.op1('Add', [b.op1('ReduceSum', [b.op1('Mul', [features.name, dA]), axes], { keepdims: 0 }), offset]);
}

/**
 * Whether each image's step moves its objective by more than float rounding (`render/movable.ts`):
 * span = Σ |∂f/∂input|·width_c > 2⁻²³·max(|f|, 1). dInput is NCHW (or [B, …] for a flat input).
 */
function moves(b: GraphBuilder, dInput: string, inputShape: number[], value: string, ctx: ChainContext): string {
  const widths = Float32Array.from(inputWidths(ctx.pixels));
  const weighted = b.op1('Mul', [b.op1('Abs', [dInput]), channelConstant(b, widths, inputShape)]);
  const span = b.op1('ReduceSum', [weighted, b.ints(inputShape.map((_, i) => i + 1))], { keepdims: 0 });
  const floor = b.op1('Mul', [b.op1('Max', [b.op1('Abs', [value]), b.scalar(1)]), b.scalar(FLOAT32_RESOLUTION)]);
  return b.op1('Greater', [span, floor]);
}

/** `mask` [B] (bool) reshaped to broadcast over a stored tensor of Keras shape `shape`. */
const maskFor = (b: GraphBuilder, mask: string, shape: number[]) => b.op1('Reshape', [mask, b.ints([-1, ...shape.map(() => 1)])]);

/** Row j of a [K, ...] tensor. */
const row = (b: GraphBuilder, t: string, j: number) => b.op1('Squeeze', [b.op1('Gather', [t, b.ints([j])], { axis: 0 }), b.ints([0])]);

/** Stacks [B, ...] tensors into [K, B, ...]. */
const stack = (b: GraphBuilder, ts: string[]) =>
  b.op1(
    'Concat',
    ts.map((t) => b.op1('Unsqueeze', [t, b.ints([0])])),
    { axis: 0 },
  );

/** K unrolled steps of `step` on the network `nodes` read at `read` (a linear head). */
export function compileChain(nodes: LeanNode[], read: FeatureRead, step: OnnxStep, ctx: ChainContext, k: number): CompiledChain {
  const inputShape = step.inputSize ? [...step.inputSize, ctx.inputShape[2]] : ctx.inputShape;
  if (!isImage(inputShape)) throw new Error(`the chain compiles image inputs only, not [${inputShape}]`);
  const b = new GraphBuilder();
  for (const s of step.state) b.input(s.name, s.shape);
  let state = step.state.map((s) => fromKeras(b, s.name, s.shape));
  b.input('offset', []);
  b.input('active', []);
  b.inputExact('frameAt', ['frames']);
  for (const s of step.stepInputs ?? []) b.inputExact(s.name, s.perUnit ? [k, 'batch', ...s.shape] : [k, ...s.shape]);
  const active = b.op1('Greater', ['active', b.scalar(0.5)]);
  let featureShape: number[] | undefined;
  let dA: string | undefined;
  const values: string[] = [];
  const moved: string[] = [];
  const images: string[] = [];
  for (let j = 0; j < k; j++) {
    const inputs = (step.stepInputs ?? []).map((s) => row(b, s.name, j));
    const prefix = step.prefix(b, state, inputs);
    const g = emitGradient(b, nodes, read, { name: prefix.input, shape: inputShape }, (features) => {
      if (!dA) {
        featureShape = features.shape;
        b.input('dA', featureShape);
        dA = fromKeras(b, 'dA', featureShape);
      }
      return dA;
    });
    let value = linearValue(b, g.features, dA!, 'offset');
    if (prefix.penalty) value = b.op1('Sub', [value, prefix.penalty]);
    const keep = b.op1('And', [moves(b, g.dx, inputShape, value, ctx), active]);
    const next = step.update(b, state, inputs, prefix, g.dx);
    state = state.map((old, i) => b.op1('Where', [maskFor(b, keep, step.state[i]!.shape), next[i]!, old]));
    values.push(value);
    moved.push(b.op1('Cast', [keep], { to: 1 /* FLOAT */ }));
    images.push(prefix.image);
  }
  step.state.forEach((s, i) => {
    b.rename(toKeras(b, { name: state[i]!, shape: s.shape }), `${s.name}_out`);
    b.output(`${s.name}_out`, s.shape);
  });
  b.rename(stack(b, values), 'values');
  b.outputExact('values', [k, 'batch']);
  b.rename(stack(b, moved), 'moved');
  b.outputExact('moved', [k, 'batch']);
  const [h, w] = ctx.plan.size;
  const frames = b.op1('Gather', [stack(b, images), b.op1('Cast', ['frameAt'], { to: 7 /* INT64 */ })], { axis: 0 });
  b.rename(b.op1('Transpose', [frames], { perm: [0, 1, 3, 4, 2] }), 'frames');
  b.outputExact('frames', ['frames', 'batch', h, w, 3]);
  const batchAxes: BatchAxes = {
    inputs: { dA: 0, offset: 0, active: 0, ...Object.fromEntries(step.state.map((s) => [s.name, 0])), ...Object.fromEntries((step.stepInputs ?? []).filter((s) => s.perUnit).map((s) => [s.name, 1])) },
    outputs: { values: 1, moved: 1, frames: 1, ...Object.fromEntries(step.state.map((s) => [`${s.name}_out`, 0])) },
  };
  return { model: b.encode('filter-atlas-chain'), featureShape: featureShape!, batchAxes };
}
