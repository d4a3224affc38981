/**
 * `GradientEngine` on ONNX Runtime: per (feature read, input shape) one compiled model
 * M(x, dA) → (features, dx) and its session, cached. The objective's head stays in TF.js:
 *
 * - linear head: dA = ∂Σhead/∂features is a constant, computed once per (objective, batch) with
 *   tf.grad at zeros; one ORT run gives the features (→ value = head(features)) and the gradient;
 * - other heads: a forward-only run gives the features, TF.js the value and dA, then M runs.
 *
 * Tensors cross as Float32Array copies (x out of TF.js, features and dx back in); `stats` keeps
 * the time spent copying apart from the time inside ORT. On the CPU provider with several threads,
 * a batch of more than one image runs in slices, one session per core on worker threads
 * (`batch-split.ts`): the same numbers, faster than one session's intra-op threads.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureRead, GradientEngine, Objective, ValueAndGrad } from '../engine.ts';
import { batchParts, partsWithinMemory, SplitSession, type BatchAxes } from './batch-split.ts';
import { GraphBuilder } from './builder.ts';
import { compileFeatures, compileGradient, type LeanNode } from './compile.ts';
import { sessionOptionsFor, type OrtModule, type OrtSession, type OrtTensor, type ProviderName } from './runtime.ts';

export interface OnnxEngineOptions {
  ort: OrtModule;
  provider: ProviderName;
  /** ORT intra-op threads (default: ORT's own, all physical cores). */
  threads?: number;
}

/** Milliseconds spent copying tensors between TF.js and ORT, and inside ORT's run. */
export interface OnnxStats {
  runs: number;
  copyMs: number;
  runMs: number;
  compileMs: number;
}

/** A compiled model, what its outputs' shapes are, and which outputs to leave on the device. */
export interface Compilation {
  model: Uint8Array;
  shapes: number[][];
  deviceOutputs?: string[];
  /** The model's batch axes: given them and a batch, a CPU engine on several threads runs the batch as slices side by side (`batch-split.ts`). */
  batchAxes?: BatchAxes;
}

export interface Compiled {
  session: OrtSession;
  shapes: number[][];
}

const readKey = (r: FeatureRead) => `${r.node}|${r.pre ? 1 : 0}|${r.redirect ? 1 : 0}`;
/** A forward-only read: `redirect` shapes only the gradient, so reads that differ in it share one model. */
const forwardKey = (r: FeatureRead) => `${r.node}|${r.pre ? 1 : 0}`;

export class OnnxEngine implements GradientEngine {
  readonly name: string;
  readonly stats: OnnxStats = { runs: 0, copyMs: 0, runMs: 0, compileMs: 0 };
  private readonly sessions = new Map<string, Promise<Compiled>>();
  private readonly constantGrads = new WeakMap<Objective, Map<string, Float32Array>>();

  constructor(
    readonly nodes: LeanNode[],
    readonly options: OnnxEngineOptions,
  ) {
    this.name = `onnx-${options.provider}`;
  }

  /**
   * A model compiled once per `key` and its session (the chain's models share the cache); `shapes` as
   * the compiler gives them; `deviceOutputs` stay on the device where the provider can keep them
   * there (WebGPU), to be fed back as the next run's inputs. With the `batch` it will run and the
   * model's `batchAxes`, the CPU provider on several threads splits the batch between sessions on
   * worker threads (`batchParts`): one session per core beats one session's intra-op threads there.
   */
  session(key: string, compile: () => Compilation, batch?: number): Promise<Compiled> {
    const parts = this.options.provider === 'cpu' && batch ? batchParts(this.options.threads, batch).parts : 1;
    return parts > 1 ? this.compiled(`${key}|split ${parts}`, compile, parts) : this.compiled(key, compile);
  }

  /**
   * An output's values on the host. A device tensor is read through a run of an Identity model (its
   * output lands on the host): `getData` on a WebGPU buffer aborts the process in ORT 1.30's Node binding.
   */
  async toHost(t: OrtTensor): Promise<Float32Array> {
    if (t.location !== 'gpu-buffer') return t.data as Float32Array;
    const read = await this.compiled(`read|${t.dims.slice(1)}`, () => {
      const b = new GraphBuilder();
      const dims = t.dims.slice(1);
      b.input('x', dims);
      b.rename('x', 'y');
      b.output('y', dims);
      return { model: b.encode('read'), shapes: [] };
    });
    const out = await this.runTensors(read.session, { x: t });
    return out.y!.data as Float32Array;
  }

  /** A linear head's gradient at the features [B, ...featureShape] (a constant) and its value at zero features [B]. */
  linearHead(objective: Objective, shape: number[]): { dA: Float32Array; offset: Float32Array } {
    const offset = tf.tidy(() => objective.head(tf.zeros(shape)).dataSync() as Float32Array);
    return { dA: this.constantGrad(objective, shape), offset };
  }

  /** One run on ORT tensors as they are (a chain's state stays an ORT tensor between calls); counted in `stats`. */
  async runTensors(session: OrtSession, feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    const t0 = performance.now();
    const out = await session.run(feeds);
    this.stats.runMs += performance.now() - t0;
    this.stats.runs++;
    return out;
  }

  async valueAndGrad(objective: Objective, x: tf.Tensor4D): Promise<ValueAndGrad> {
    const [batch, ...inShape] = x.shape;
    const grad = await this.session(
      `g|${readKey(objective.read)}|${inShape}`,
      () => {
        const c = compileGradient(this.nodes, objective.read, inShape);
        return { model: c.model, shapes: [c.featureShape], batchAxes: { inputs: { x: 0, dA: 0 }, outputs: { features: 0, dx: 0 } } };
      },
      batch,
    );
    const shape = [batch, ...grad.shapes[0]!];
    const xData = await this.copyOut(x);
    if (objective.linear) {
      const out = await this.run(grad.session, { x: [xData, x.shape], dA: [this.constantGrad(objective, shape), shape] });
      const t0 = performance.now();
      const features = tf.tensor(out.features!, shape);
      const result = { value: tf.tidy(() => objective.head(features)), grad: tf.tensor4d(out.dx!, x.shape) };
      features.dispose();
      this.stats.copyMs += performance.now() - t0;
      return result;
    }
    // Non-linear head: features first, then the value and dA from TF.js at those features, then the gradient run.
    const [features] = await this.featuresOf([objective.read], x, xData);
    const { value, dA } = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((a: tf.Tensor) => objective.head(a))(features!, tf.ones([batch!]));
      return { value: tf.keep(value) as tf.Tensor1D, dA: grad.dataSync() as Float32Array };
    });
    features!.dispose();
    const out = await this.run(grad.session, { x: [xData, x.shape], dA: [dA, shape] });
    return { value, grad: tf.tensor4d(out.dx!, x.shape) };
  }

  async features(reads: FeatureRead[], x: tf.Tensor4D): Promise<tf.Tensor[]> {
    return this.featuresOf(reads, x, await this.copyOut(x));
  }

  dispose(): void {
    for (const p of this.sessions.values()) void p.then((c) => c.session.release()).catch(() => undefined);
    this.sessions.clear();
  }

  /** `features` with x's values already copied out. */
  private async featuresOf(reads: FeatureRead[], x: tf.Tensor4D, xData: Float32Array): Promise<tf.Tensor[]> {
    const [batch, ...inShape] = x.shape;
    const compiled = await this.session(
      `f|${reads.map(forwardKey).join(',')}|${inShape}`,
      () => {
        const c = compileFeatures(this.nodes, reads, inShape);
        return { ...c, batchAxes: { inputs: { x: 0 }, outputs: Object.fromEntries(c.shapes.map((_, i) => [`features${i}`, 0])) } };
      },
      batch,
    );
    const out = await this.run(compiled.session, { x: [xData, x.shape] });
    const t0 = performance.now();
    const tensors = compiled.shapes.map((s, i) => tf.tensor(out[`features${i}`]!, [batch, ...s]));
    this.stats.copyMs += performance.now() - t0;
    return tensors;
  }

  /** ∂Σhead/∂features of a linear head at zeros, once per objective and feature shape. */
  private constantGrad(objective: Objective, shape: number[]): Float32Array {
    let perShape = this.constantGrads.get(objective);
    if (!perShape) this.constantGrads.set(objective, (perShape = new Map()));
    const key = shape.join(',');
    let g = perShape.get(key);
    if (!g) {
      g = tf.tidy(
        () =>
          tf
            .grad((a: tf.Tensor) => tf.sum(objective.head(a)))(tf.zeros(shape))
            .dataSync() as Float32Array,
      );
      perShape.set(key, g);
    }
    return g;
  }

  /** `split`: the batch's parts wanted (`session`); fewer where free memory holds fewer copies of the weights. */
  private compiled(key: string, compile: () => Compilation, split = 1): Promise<Compiled> {
    let p = this.sessions.get(key);
    if (!p) {
      p = (async () => {
        const t0 = performance.now();
        const { model, shapes, deviceOutputs, batchAxes } = compile();
        // Each part holds its own weights: no more parts than free memory allows, and one session (all the threads) for one part.
        const parts = split > 1 && batchAxes ? partsWithinMemory(split, model.length) : 1;
        const session =
          parts > 1
            ? await SplitSession.create(this.options.ort, model, batchAxes!, parts, batchParts(this.options.threads, parts).threadsPerPart)
            : await this.options.ort.InferenceSession.create(model, sessionOptionsFor(this.options.provider, this.options.threads, deviceOutputs));
        this.stats.compileMs += performance.now() - t0;
        return { session, shapes };
      })();
      // A failed compile is not cached: the error reaches this call, the next call retries.
      p.catch(() => this.sessions.delete(key));
      this.sessions.set(key, p);
    }
    return p;
  }

  private async copyOut(x: tf.Tensor): Promise<Float32Array> {
    const t0 = performance.now();
    const data = (await x.data()) as Float32Array;
    this.stats.copyMs += performance.now() - t0;
    return data;
  }

  private async run(session: OrtSession, feeds: Record<string, [Float32Array, readonly number[]]>): Promise<Record<string, Float32Array>> {
    const { Tensor } = this.options.ort;
    const t0 = performance.now();
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, [data, dims]]) => [k, new Tensor('float32', data, dims)]));
    const out = await session.run(inputs);
    this.stats.runMs += performance.now() - t0;
    this.stats.runs++;
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  }
}
