/**
 * Convolutions whose gradient with respect to the input is computed by a *forward* convolution:
 * dx = conv(pad(dilate(dy, stride)), flip(W)ᵀ). Every backend has forward convolutions, and wasm runs
 * them through XNNPACK, while its Conv2DBackpropInput is a plain loop and
 * DepthwiseConv2dNativeBackpropInput is missing. No gradient of the filter is ever computed.
 *
 * Pure functions over tensors; the flipped filters are built once per layer by `makeConv`.
 */
import * as tf from '@tensorflow/tfjs';

/** Explicit padding [[top, bottom], [left, right]]. */
export type Pads = [[number, number], [number, number]];

export interface ConvSpec {
  kind: 'conv' | 'depthwise';
  /** conv: [kh, kw, inC, outC]; depthwise: [kh, kw, inC, multiplier]. */
  filter: tf.Tensor4D;
  strides: [number, number];
  padding: 'same' | 'valid';
  dilations?: [number, number];
  /** Optional bias added after the convolution (fused into the forward kernel). */
  bias?: tf.Tensor1D;
  /** Optional activation after the bias (fused into the forward kernel; its mask is applied in the gradient). */
  activation?: FusedActivation;
}

/** Activations a forward conv kernel fuses on every backend and whose derivative is a cheap mask of the output. */
export type FusedActivation = 'linear' | 'relu' | 'relu6';

/**
 * Gradient of relu/relu6 computed from the *output* y with Step/Sub/Mul only (wasm's LessEqual,
 * used by tf's own Relu6 gradient, is a slow generic loop). y in (0, cap) ⇔ y·(cap − y) > 0.
 */
export function activationMask(dy: tf.Tensor, y: tf.Tensor, activation: FusedActivation): tf.Tensor {
  if (activation === 'linear') return dy;
  if (activation === 'relu') return tf.mul(dy, tf.step(y));
  return tf.mul(dy, tf.step(tf.mul(y, tf.sub(6, y))));
}

/** TensorFlow's 'same'/'valid' padding resolved for an input size. */
export function resolvePads(inH: number, inW: number, k: [number, number], s: [number, number], padding: 'same' | 'valid', d: [number, number] = [1, 1]): Pads {
  if (padding === 'valid')
    return [
      [0, 0],
      [0, 0],
    ];
  const one = (size: number, kernel: number, stride: number, dil: number): [number, number] => {
    const eff = (kernel - 1) * dil + 1;
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + eff - size, 0);
    const before = Math.floor(total / 2);
    return [before, total - before];
  };
  return [one(inH, k[0], s[0], d[0]), one(inW, k[1], s[1], d[1])];
}

/** Inserts (s-1) zeros between elements along H and W (rank ≤ 4 ops only: WebGPU's Pad has no rank 6). */
export function dilate(x: tf.Tensor4D, s: [number, number]): tf.Tensor4D {
  if (s[0] === 1 && s[1] === 1) return x;
  const [b, h, w, c] = x.shape;
  let y: tf.Tensor4D = x;
  let H = h;
  if (s[0] > 1) {
    H = (h - 1) * s[0] + 1;
    y = y
      .reshape([b, h, 1, w * c])
      .pad([
        [0, 0],
        [0, 0],
        [0, s[0] - 1],
        [0, 0],
      ])
      .reshape([b, h * s[0], w, c])
      .slice([0, 0, 0, 0], [b, H, w, c]) as tf.Tensor4D;
  }
  if (s[1] > 1) {
    const W = (w - 1) * s[1] + 1;
    y = y
      .reshape([b * H, w, 1, c])
      .pad([
        [0, 0],
        [0, 0],
        [0, s[1] - 1],
        [0, 0],
      ])
      .reshape([b, H, w * s[1], c])
      .slice([0, 0, 0, 0], [b, H, W, c]) as tf.Tensor4D;
  }
  return y;
}

/** Pads by non-negative amounts and crops by negative ones. */
export function padOrCrop(x: tf.Tensor4D, pads: Pads): tf.Tensor4D {
  const crop = pads.map(([a, b]) => [Math.max(-a, 0), Math.max(-b, 0)]) as Pads;
  const grow = pads.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]) as Pads;
  let y = x;
  if (crop.some(([a, b]) => a || b)) {
    const [n, h, w, c] = y.shape;
    y = y.slice([0, crop[0][0], crop[1][0], 0], [n, h - crop[0][0] - crop[0][1], w - crop[1][0] - crop[1][1], c]);
  }
  if (grow.some(([a, b]) => a || b)) y = y.pad([[0, 0], grow[0], grow[1], [0, 0]]);
  return y;
}

/** Applies the conv; `activation` overrides the spec's (e.g. 'linear' for the pre-activation). */
export type ConvFn = (x: tf.Tensor4D, activation?: FusedActivation) => tf.Tensor4D;

/**
 * Forward: one (fused) kernel with explicit pads. TF's 'same' would be the same numbers, but wasm
 * (XNNPACK's SAME flag) returns zeros for 'same' with a stride > 1 and a non-square kernel.
 */
function forwardConv(spec: ConvSpec, x: tf.Tensor4D, pads: Pads, activation: FusedActivation): tf.Tensor4D {
  const d = spec.dilations ?? [1, 1];
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], pads[0], pads[1], [0, 0]];
  const fused = spec.bias !== undefined || activation !== 'linear';
  if (!fused) {
    return spec.kind === 'conv' ? tf.conv2d(x, spec.filter, spec.strides, pad, 'NHWC', d) : tf.depthwiseConv2d(x, spec.filter, spec.strides, pad, 'NHWC', d);
  }
  // The kernel itself: tf.fused.* would split into conv + add + activation under a gradient tape,
  // and this forward runs inside customGrad, whose gradient is ours.
  const inputs = { x, filter: spec.filter, ...(spec.bias ? { bias: spec.bias } : {}) } as unknown as tf.NamedTensorMap;
  const attrs = { strides: spec.strides, pad, dataFormat: 'NHWC', dilations: d, activation } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(spec.kind === 'conv' ? 'FusedConv2D' : 'FusedDepthwiseConv2D', inputs, attrs) as tf.Tensor4D;
}

/** Pads of the input gradient's stride-1 convolution over the dilated output gradient (negative: crop). */
function gradientPads([h, w]: [number, number], pads: Pads, [kh, kw]: [number, number], d: [number, number], strides: [number, number]): Pads {
  const effH = (kh - 1) * d[0] + 1;
  const effW = (kw - 1) * d[1] + 1;
  const remH = (h + pads[0][0] + pads[0][1] - effH) % strides[0];
  const remW = (w + pads[1][0] + pads[1][1] - effW) % strides[1];
  return [
    [effH - 1 - pads[0][0], effH - 1 - pads[0][1] + remH],
    [effW - 1 - pads[1][0], effW - 1 - pads[1][1] + remW],
  ];
}

/**
 * Builds `x => act(conv(x) + bias)` with a forward-conv input gradient. The returned function owns the
 * flipped filter (kept until `dispose`).
 */
export function makeConv(spec: ConvSpec): { apply: ConvFn; dispose: () => void } {
  const [kh, kw, inC, outOrMult] = spec.filter.shape;
  const d = spec.dilations ?? [1, 1];
  // Gradient filter: spatially flipped; for a regular conv, in/out channels swapped.
  const back = tf.tidy(() => {
    const flipped = tf.reverse(spec.filter, [0, 1]);
    return spec.kind === 'conv' ? flipped.transpose([0, 1, 3, 2]) : flipped.reshape([kh, kw, inC * outOrMult, 1]);
  }) as tf.Tensor4D;
  tf.keep(back);
  // Stride-1 convolution of a gradient with a (sub-)kernel of `back`, channels summed back to inC.
  const backConv = (x: tf.Tensor4D, kernel: tf.Tensor4D, p: 'valid' | [[number, number], [number, number], [number, number], [number, number]], dil: [number, number]): tf.Tensor4D => {
    if (spec.kind === 'conv') return tf.conv2d(x, kernel, 1, p, 'NHWC', dil);
    const per = tf.depthwiseConv2d(x, kernel, 1, p, 'NHWC', dil);
    const [n, h, w] = per.shape;
    return outOrMult === 1 ? per : (per.reshape([n, h, w, inC, outOrMult]).sum(4) as tf.Tensor4D);
  };
  const subKernels = new Map<string, tf.Tensor4D>();
  const subKernel = (rows: number[], cols: number[]): tf.Tensor4D => {
    const key = `${rows}|${cols}`;
    let k = subKernels.get(key);
    if (!k) subKernels.set(key, (k = tf.keep(tf.tidy(() => tf.gather(tf.gather(back, rows, 0), cols, 1)) as tf.Tensor4D)));
    return k;
  };
  const inputGrad = (dy: tf.Tensor4D, inShape: number[], pads: Pads): tf.Tensor4D => {
    const [, h, w] = inShape as [number, number, number, number];
    const gradPads = gradientPads([h, w], pads, [kh, kw], d, spec.strides);
    // Polyphase for strided regular convs (wasm, min of 9 under load: ResNet50V2's 7×7/2 stem 91 → 31 ms,
    // 3×3/2 at 128 channels 27 → 12 ms, 1×1/2 256 → 512 at batch 4 124 → 56 ms); MobileNet's
    // depthwise 3×3/2 was no faster (2.7 vs 2.9 ms), so depthwise keeps the dilated form.
    if (spec.kind === 'conv' && spec.strides.some((v) => v > 1) && d[0] === 1 && d[1] === 1) {
      return polyphase(dy, [h, w], [gradPads[0][0], gradPads[1][0]], [kh, kw], spec.strides, inC, (x, rows, cols, p) => backConv(x, subKernel(rows, cols), 'valid', [1, 1]).pad([[0, 0], ...p, [0, 0]]));
    }
    // Non-negative pads go to the conv kernel itself (no PadV2); a crop needs a slice first.
    const crop = gradPads.some(([a, b]) => a < 0 || b < 0);
    const spread = dilate(dy, spec.strides);
    const full = crop ? padOrCrop(spread, gradPads) : spread;
    return backConv(full, back, crop ? 'valid' : [[0, 0], gradPads[0], gradPads[1], [0, 0]], d);
  };
  const apply = (x: tf.Tensor4D, activation: FusedActivation = spec.activation ?? 'linear'): tf.Tensor4D => {
    const pads = resolvePads(x.shape[1], x.shape[2], [kh, kw], spec.strides, spec.padding, d);
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      const inShape = input.shape;
      const value = forwardConv(spec, input as tf.Tensor4D, pads, activation);
      save(activation === 'linear' ? [] : [value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => inputGrad(activationMask(dy, saved[0]!, activation) as tf.Tensor4D, inShape, pads),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(x) as tf.Tensor4D;
  };
  return {
    apply,
    dispose: () => {
      back.dispose();
      for (const k of subKernels.values()) k.dispose();
    },
  };
}

/** One output phase r of a strided axis: its taps of the flipped kernel and where they read dy. */
function phase(r: number, k: number, s: number, top: number, size: number, outSize: number) {
  // Taps a with (r + a − top) ≡ 0 (mod s): a0, a0 + s, …; phase r's output q reads dy[q + e0 + m].
  const a0 = (((top - r) % s) + s) % s;
  const taps = a0 < k ? Array.from({ length: Math.ceil((k - a0) / s) }, (_, m) => a0 + m * s) : [];
  const e0 = (r + a0 - top) / s;
  const count = Math.max(Math.ceil((size - r) / s), 0);
  return { taps, count, pads: [-e0, count + e0 + taps.length - 1 - outSize] as [number, number] };
}

/**
 * The input gradient of a strided convolution as s_h·s_w stride-1 convolutions, one per output
 * phase (dx[s·q + r] only ever meets the taps r − top + s·m of the flipped kernel), interleaved:
 * the dilated-dy convolution it replaces spends (s² − 1)/s² of its work on inserted zeros.
 * `conv(x, rows, cols, grow)` convolves with those taps and pads the result by `grow`.
 */
function polyphase(
  dy: tf.Tensor4D,
  [h, w]: [number, number],
  [top, left]: [number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  channels: number,
  conv: (x: tf.Tensor4D, rows: number[], cols: number[], grow: [[number, number], [number, number]]) => tf.Tensor4D,
): tf.Tensor4D {
  const n = dy.shape[0];
  const [qMax, pMax] = [Math.ceil(h / sh), Math.ceil(w / sw)];
  const rowsOut: tf.Tensor4D[] = [];
  for (let r = 0; r < sh; r++) {
    const pr = phase(r, kh, sh, top, h, dy.shape[1]);
    const cols: tf.Tensor4D[] = [];
    for (let t = 0; t < sw; t++) {
      const pc = phase(t, kw, sw, left, w, dy.shape[2]);
      const grow: [[number, number], [number, number]] = [
        [0, qMax - pr.count],
        [0, pMax - pc.count],
      ];
      cols.push(pr.taps.length && pc.taps.length && pr.count && pc.count ? conv(padOrCrop(dy, [pr.pads, pc.pads]), pr.taps, pc.taps, grow) : tf.zeros([n, qMax, pMax, channels]));
    }
    // Interleave the column phases: [n, qMax, pMax, sw, c] → [n, qMax, pMax·sw, c].
    rowsOut.push(sw === 1 ? cols[0]! : (tf.stack(cols, 3).reshape([n, qMax, pMax * sw, channels]) as tf.Tensor4D));
  }
  const all = sh === 1 ? rowsOut[0]! : (tf.stack(rowsOut, 2).reshape([n, qMax * sh, pMax * sw, channels]) as tf.Tensor4D);
  return all.shape[1] === h && all.shape[2] === w ? all : all.slice([0, 0, 0, 0], [n, h, w, channels]);
}
