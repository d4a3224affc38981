/**
 * The lucid method's step in ONNX (`chain-step.ts`): the state is the Fourier spectra in the
 * parameterization's internal layout (the loop's parameters) and Adam's two moments; the prefix is
 * the spectrum → pixels map (`render/onnx/fourier-pixels.ts`), the step's random warp
 * (`render/onnx/warp.ts`) and the model's pixel mapping (`chain-pixels.ts`); the update carries the
 * input gradient back through their VJPs and takes Adam's step (`render/onnx/adam.ts`).
 *
 * Each step's transforms are step inputs drawn on the host by the TF.js path's own code
 * (`randomAffine(stepSeed(unit seed, step))`, `transformParams`), and so are Adam's bias
 * corrections (`adamScalars`): a chained unit gets the same transforms and the same update at every
 * step as the one-step loop gives it.
 */
import { randomAffine, stepSeed, transformParams, type TransformSettings } from '../../render/affine.ts';
import { adamPart, adamScalars, type AdamOptions } from '../../render/onnx/adam.ts';
import { fourierParamShape, fourierPixels } from '../../render/onnx/fourier-pixels.ts';
import type { Part } from '../../render/onnx/part.ts';
import { affineWarpPart } from '../../render/onnx/warp.ts';
import { colorMatrixT } from '../../render/param/color.ts';
import type { ChainContext, OnnxStep } from './chain-step.ts';
import { emitModelInput, emitModelInputVjp } from './chain-pixels.ts';

/** What `lucidMethod.plan` records in `RenderPlan.chain.options`: the same settings its parts get. */
export interface LucidChainOptions {
  decay: number;
  adam: AdamOptions;
  transforms: TransformSettings;
}

export function lucidStep(ctx: ChainContext): OnnxStep | string {
  const { plan, pixels } = ctx;
  if (pixels.channels === 1) return 'the model takes one channel';
  if (plan.l2) return 'an L2 penalty on the Fourier image is not compiled';
  const o = plan.chain!.options as unknown as LucidChainOptions;
  const size = plan.size;
  // Where the warp ends: a fixed-size model's input, the image's own size (`view: image`) or Lucid's window (`randomTransforms`).
  const out = randomAffine(0, size, o.transforms, ctx.fixedInputSize ?? (o.transforms.view === 'image' ? size : undefined)).out;
  const shape = fourierParamShape(...size);
  /** Each step's parts by its model input's name: `update` carries the gradient back through them. */
  const parts = new Map<string, { image: Part; warp: Part }>();
  const units = plan.units;
  return {
    inputSize: out,
    state: [
      { name: 'params', shape },
      { name: 'adam_m', shape },
      { name: 'adam_v', shape },
    ],
    stepInputs: [
      { name: 'affine', shape: [6], perUnit: true },
      { name: 'adam_scalars', shape: [2], perUnit: false },
    ],
    stepFeeds(steps) {
      const affine = new Float32Array(steps.length * units.length * 6);
      steps.forEach((step, j) =>
        units.forEach((u, i) => {
          const a = randomAffine(stepSeed(u.seed, step), size, o.transforms, out);
          affine.set(transformParams(a, size).slice(0, 6), (j * units.length + i) * 6);
        }),
      );
      return [affine, Float32Array.from(steps.flatMap((s) => adamScalars(o.adam, s)))];
    },
    prefix(b, [params], [affine]) {
      const image = fourierPixels(b, params!, { h: size[0], w: size[1], decay: o.decay, colorT: colorMatrixT() });
      const warp = affineWarpPart(b, image.out, affine!, size, out);
      const input = emitModelInput(b, warp.out, pixels);
      parts.set(input, { image, warp });
      return { image: image.out, input };
    },
    update(b, [params, m, v], [, scalars], prefix, dInput) {
      const { image, warp } = parts.get(prefix.input)!;
      const grad = image.vjp(warp.vjp(emitModelInputVjp(b, dInput, pixels)));
      const scalar = (i: number) => b.op1('Slice', [scalars!, b.ints([i]), b.ints([i + 1]), b.ints([0])]);
      const next = adamPart(b, o.adam, { params: params!, grad, m: m!, v: v!, eps: scalar(0), rate: scalar(1) });
      return [next.params, next.m, next.v];
    },
  };
}
