/**
 * The render loop in calls of K steps (Node only): on an `onnx-*` engine, a plan whose method gives
 * an ONNX step (`engine/onnx/chain-methods.ts`) runs as one compiled model per K steps
 * (`engine/onnx/chain.ts`); the state stays an ORT tensor between calls (host arrays on onnx-cpu and
 * onnx-cuda; WebGPU buffers on onnx-webgpu, fed back as the next call's inputs). It records exactly what `loop.ts` records:
 * each step's value, a frame every `frameEvery` steps, the final value on the untransformed image;
 * class continuation runs in calls of one step, each after the lead check `loop.ts` makes, with the
 * finished units masked in the graph. Everything else runs `loop.ts` itself, the reason logged once.
 *
 * K is a speed knob only (a step is the same step in any call): `chainLength`, a documented rule.
 */
import * as tf from '@tensorflow/tfjs';
import { compileChain } from '../engine/onnx/chain.ts';
import { chainStepOf } from '../engine/onnx/chain-methods.ts';
import type { ChainContext, OnnxStep } from '../engine/onnx/chain-step.ts';
import { OnnxEngine } from '../engine/onnx/engine.ts';
import type { OrtSession, OrtTensor } from '../engine/onnx/runtime.ts';
import { clipToBytes, displayBytes, displaySize } from './deprocess.ts';
import { continuationOf, finalValue, imageOf, leadsOf, renderBatch } from './loop.ts';
import type { RenderContext, RenderPlan, UnitResult } from './method.ts';
import { BatchRecorder } from './record.ts';

/**
 * The most steps one call runs. On onnx-cpu (2 busy cores, MobileNet v1 0.75 → conv_pw_13_relu,
 * 224 px) a step costs 126 ms one per call and 94 ms at K = 8 (batch 1; 574 → 448 ms at batch 4),
 * with most of the gain by K = 4; the model's compile time grows with K (6.5 s at K = 8 there,
 * against 0.7 s for one step), and so do the frames one call returns.
 */
export const MAX_STEPS_PER_CALL = 8;

/**
 * Steps per call for a plan: all of them up to `MAX_STEPS_PER_CALL`; else the largest divisor of the
 * steps from there down to half of it, so that every call runs one compiled model (30 steps: 5 calls
 * of 6); else the maximum, the last call running the rest (a second model).
 */
export function chainLength(plan: RenderPlan): number {
  if (plan.steps <= MAX_STEPS_PER_CALL) return plan.steps;
  for (let k = MAX_STEPS_PER_CALL; k >= MAX_STEPS_PER_CALL / 2; k--) if (plan.steps % k === 0) return k;
  return MAX_STEPS_PER_CALL;
}

export interface ChainOptions {
  /** Steps per call (default `chainLength`). */
  stepsPerCall?: number;
  /** Where the reason a plan is not chained goes (once per reason). */
  log?: (line: string) => void;
}

const told = new Set<string>();

/** Why `plan` runs one step per call on this engine, or its ONNX step. */
function chainOf(plan: RenderPlan, ctx: RenderContext): { step: OnnxStep; chain: ChainContext } | string {
  if (!(ctx.engine instanceof OnnxEngine)) return `${ctx.engine.name} runs one step per call`;
  const [h, w] = plan.size;
  const chain: ChainContext = { plan, pixels: ctx.pixels, inputShape: [h, w, ctx.pixels.channels ?? 3], ...(ctx.inputSize ? { fixedInputSize: ctx.inputSize } : {}) };
  const step = chainStepOf(chain);
  return typeof step === 'string' ? step : { step, chain };
}

/** Renders a batch in calls of K steps where it can, else with `renderBatch`; the same results either way. */
export async function renderBatchChained(plan: RenderPlan, ctx: RenderContext, options: ChainOptions = {}): Promise<UnitResult[]> {
  const found = chainOf(plan, ctx);
  if (typeof found === 'string') {
    if (ctx.engine instanceof OnnxEngine && !told.has(found)) {
      told.add(found);
      options.log?.(`note: ${plan.chain?.method ?? 'this'} batches run one step per call (${found})`);
    }
    return renderBatch(plan, ctx);
  }
  return new ChainRun(plan, ctx, ctx.engine as OnnxEngine, found.step, found.chain).render(options.stepsPerCall ?? chainLength(plan));
}

class ChainRun {
  private readonly rec: BatchRecorder;
  private readonly batch: number;
  private state: OrtTensor[] = [];
  private head: { dA: OrtTensor; offset: OrtTensor } | undefined;

  constructor(
    private readonly plan: RenderPlan,
    private readonly ctx: RenderContext,
    private readonly engine: OnnxEngine,
    private readonly step: OnnxStep,
    private readonly chain: ChainContext,
  ) {
    this.rec = new BatchRecorder(plan.units);
    this.batch = plan.units.length;
  }

  private tensor(data: Float32Array, dims: number[]): OrtTensor {
    return new this.engine.options.ort.Tensor('float32', data, dims);
  }

  /** The compiled K-step model (cached by the engine across batches of the same shapes). */
  private async model(k: number): Promise<{ session: OrtSession; featureShape: number[] }> {
    const { plan, ctx } = this;
    const key = ['chain', k, JSON.stringify(plan.chain), plan.l2, JSON.stringify(ctx.pixels), plan.size, ctx.inputSize ?? '', JSON.stringify(plan.objective.read)].join('|');
    const c = await this.engine.session(
      key,
      () => {
        const compiled = compileChain(this.engine.nodes, plan.objective.read, this.step, this.chain, k);
        // The state stays on the device between calls where the provider can keep it there (WebGPU); on
        // the CPU a batch may run as slices side by side (`batch-split.ts`).
        return { model: compiled.model, shapes: [compiled.featureShape], deviceOutputs: this.step.state.map((s) => `${s.name}_out`), batchAxes: compiled.batchAxes };
      },
      this.batch,
    );
    return { session: c.session, featureShape: c.shapes[0]! };
  }

  /** The parameters (`state[0]`) as a TF.js tensor. */
  private async params(): Promise<tf.Tensor> {
    return tf.tensor(await this.engine.toHost(this.state[0]!), [this.batch, ...this.step.state[0]!.shape]);
  }

  /** Runs steps `from` … `from + k − 1` (all units, or those `active` marks) and records them. */
  private async call(from: number, k: number, active?: boolean[]): Promise<void> {
    const { plan, step } = this;
    const { session, featureShape } = await this.model(k);
    if (!this.head) {
      const { dA, offset } = this.engine.linearHead(plan.objective, [this.batch, ...featureShape]);
      this.head = { dA: this.tensor(dA, [this.batch, ...featureShape]), offset: this.tensor(offset, [this.batch]) };
    }
    const steps = Array.from({ length: k }, (_, j) => from + j);
    const frameAt = steps.flatMap((s, j) => (s % plan.frameEvery === 0 ? [j] : []));
    const feeds: Record<string, OrtTensor> = {
      ...Object.fromEntries(step.state.map((s, i) => [s.name, this.state[i]!])),
      dA: this.head.dA,
      offset: this.head.offset,
      active: this.tensor(
        Float32Array.from(plan.units, (_, i) => (active?.[i] === false ? 0 : 1)),
        [this.batch],
      ),
      frameAt: this.tensor(Float32Array.from(frameAt), [frameAt.length]),
    };
    const values = step.stepFeeds?.(steps) ?? [];
    (step.stepInputs ?? []).forEach((s, i) => (feeds[s.name] = this.tensor(values[i]!, s.perUnit ? [k, this.batch, ...s.shape] : [k, ...s.shape])));
    const out = await this.engine.runTensors(session, feeds);
    const before = this.state;
    this.state = step.state.map((s) => out[`${s.name}_out`]!);
    for (const t of before) t.dispose?.(); // a device buffer is freed at once, not when collected
    const [h, w] = plan.size;
    const frames = await this.engine.toHost(out.frames!);
    const size = this.batch * h * w * 3;
    // Per step, in the loop's order: its frame (the image before the step), then its value.
    const [vals, moved] = [await this.engine.toHost(out.values!), await this.engine.toHost(out.moved!)];
    for (let j = 0, f = 0; j < k; j++) {
      if (frameAt[f] === j) {
        const image = tf.tensor4d(frames.subarray(f * size, (f + 1) * size), [this.batch, h, w, 3]);
        await this.rec.frame(
          tf.tidy(() => displayBytes(image, plan.deprocess)),
          active,
        );
        image.dispose();
        f++;
      }
      this.rec.moved(moved.subarray(j * this.batch, (j + 1) * this.batch), active);
      await this.rec.values(tf.tensor1d(vals.slice(j * this.batch, (j + 1) * this.batch)), active);
      if (from + j < plan.steps) await this.ctx.onStep?.(from + j);
    }
  }

  async render(stepsPerCall: number): Promise<UnitResult[]> {
    const { plan, ctx, step, rec } = this;
    const init = plan.parameterization.init(plan.units, plan.size);
    try {
      const extra = step.initState?.(this.batch);
      this.state = step.state.map((s, i) =>
        i === 0 ? this.tensor(init.dataSync() as Float32Array, init.shape) : this.tensor(extra?.[i - 1] ?? new Float32Array(this.batch * s.shape.reduce((a, b) => a * b, 1)), [this.batch, ...s.shape]),
      );
      for (let s = 0; s < plan.steps; s += stepsPerCall) await this.call(s, Math.min(stepsPerCall, plan.steps - s));
      const continuation = continuationOf(plan);
      let active: boolean[] | undefined;
      for (let s = plan.steps; continuation && s < continuation.maxSteps; s++) {
        const params = await this.params();
        const leads = await leadsOf(plan, ctx, params, plan.objective.lead!);
        params.dispose();
        active = plan.units.map((_, i) => active?.[i] !== false && leads[i]! < continuation.margin);
        if (!active.includes(true)) break;
        await this.call(s, 1, active);
      }
      const params = await this.params();
      try {
        await rec.values(await finalValue(plan, ctx, params));
        await rec.frame(tf.tidy(() => displayBytes(imageOf(plan, ctx, params), plan.deprocess)));
        const [width, height] = displaySize(plan.size, plan.deprocess);
        const inputs = plan.deprocess.mode === 'clip' ? undefined : tf.tidy(() => clipToBytes(imageOf(plan, ctx, params)));
        return await rec.results(width, height, inputs);
      } finally {
        params.dispose();
      }
    } finally {
      for (const t of this.state) t.dispose?.();
      init.dispose();
      plan.optimizer.dispose();
      plan.parameterization.dispose();
    }
  }
}
