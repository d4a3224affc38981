/**
 * The lecture method's step in ONNX (`chain-step.ts`): the state is the image itself (canonical
 * pixels, the loop's parameters); the prefix maps it to the model's range and adds the L2 penalty;
 * the update is the notes' normalized ascent (`render/optimizers.ts` `normalizedAscent`, the same
 * epsilon and order of operations), clipped to [-1, 1] when the plan is projected.
 */
import type { ChainContext, OnnxStep } from './chain-step.ts';
import { emitModelInput, emitModelInputVjp } from './chain-pixels.ts';

/** What `lectureMethod.plan` records in `RenderPlan.chain.options`. */
export interface LectureChainOptions {
  stepSize: number;
  projected: boolean;
}

/** `normalizedAscent`'s guard against a zero gradient. */
const NORM_EPSILON = 1e-8;

export function lectureStep(ctx: ChainContext): OnnxStep | string {
  const { plan, pixels } = ctx;
  if (plan.transforms) return 'its random transforms are not compiled yet';
  if (pixels.channels === 1) return 'the model takes one channel';
  const { stepSize, projected } = plan.chain!.options as unknown as LectureChainOptions;
  const [h, w] = plan.size;
  const allAxes = [1, 2, 3];
  return {
    state: [{ name: 'params', shape: [h, w, 3] }],
    prefix(b, [image]) {
      const input = emitModelInput(b, image!, pixels);
      if (!plan.l2) return { image: image!, input };
      const sumSq = b.op1('ReduceSum', [b.op1('Mul', [image!, image!]), b.ints(allAxes)], { keepdims: 0 });
      return { image: image!, input, penalty: b.op1('Mul', [sumSq, b.scalar(plan.l2 / 2)]) };
    },
    update(b, [image], _inputs, _prefix, dInput) {
      let grad = emitModelInputVjp(b, dInput, pixels);
      if (plan.l2) grad = b.op1('Sub', [grad, b.op1('Mul', [image!, b.scalar(plan.l2)])]);
      const norm = b.op1('Add', [b.op1('Sqrt', [b.op1('ReduceSum', [b.op1('Mul', [grad, grad]), b.ints(allAxes)], { keepdims: 1 })]), b.scalar(NORM_EPSILON)]);
      const next = b.op1('Add', [image!, b.op1('Mul', [b.op1('Div', [grad, norm]), b.scalar(stepSize)])]);
      return [projected ? b.op1('Clip', [next, b.scalar(-1), b.scalar(1)]) : next];
    },
  };
}
