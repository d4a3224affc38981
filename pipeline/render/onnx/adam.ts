/**
 * Adam, ascending, as ONNX ops: the same update as `optimizers.ts` `adam`, op for op (so that the
 * chained graph rounds as the TF.js step does): m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
 * θ ← θ + m/(√v + ε·√c2) · lr·√c2/c1 with c = 1 − βᵗ. The moments are state the caller carries
 * (zeros at the start give exactly the first step's m = (1 − β1)·g); the two step-dependent scalars
 * are tensors (`AdamScalars`), so one graph serves every step.
 */
import type { GraphBuilder } from '../../engine/onnx/builder.ts';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Step t's (0-based) scalars in float32: ε·√c2 and lr·√c2/c1 (as the TF.js step computes them in JS). */
export function adamScalars(o: AdamOptions, step: number): [number, number] {
  const t = step + 1;
  const c1 = 1 - o.beta1 ** t;
  const c2 = Math.sqrt(1 - o.beta2 ** t);
  return [o.epsilon * c2, (o.lr * c2) / c1];
}

/** Emits one update; `eps` and `rate` name the step's scalars (`adamScalars`, any shape that broadcasts). */
export function adamPart(b: GraphBuilder, o: AdamOptions, s: { params: string; grad: string; m: string; v: string; eps: string; rate: string }): { params: string; m: string; v: string } {
  const m = b.op1('Add', [b.op1('Mul', [s.m, b.scalar(o.beta1)]), b.op1('Mul', [s.grad, b.scalar(1 - o.beta1)])]);
  const v = b.op1('Add', [b.op1('Mul', [s.v, b.scalar(o.beta2)]), b.op1('Mul', [b.op1('Mul', [s.grad, s.grad]), b.scalar(1 - o.beta2)])]);
  const update = b.op1('Mul', [b.op1('Div', [m, b.op1('Add', [b.op1('Sqrt', [v]), s.eps])]), s.rate]);
  return { params: b.op1('Add', [s.params, update]), m, v };
}
