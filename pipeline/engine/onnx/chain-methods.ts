/**
 * The methods whose step compiles into a chain (`chain-step.ts`), by the id `RenderPlan.chain`
 * names. A method not listed here runs one step per engine call.
 */
import { lectureStep } from './chain-lecture.ts';
import type { ChainContext, OnnxStep, OnnxStepFactory } from './chain-step.ts';

export const CHAIN_STEPS: Record<string, OnnxStepFactory> = {
  lecture: lectureStep,
};

/** The plan's step in ONNX, or why the plan cannot be chained. */
export function chainStepOf(ctx: ChainContext): OnnxStep | string {
  const recipe = ctx.plan.chain;
  if (!recipe) return 'its method gives no ONNX step';
  const factory = CHAIN_STEPS[recipe.method];
  if (!factory) return `the ${recipe.method} method has no ONNX step`;
  if (!ctx.plan.objective.linear) return 'its objective is not linear in the features (its gradient there changes with them)';
  return factory(ctx);
}
