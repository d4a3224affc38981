/**
 * Rules for the ops that are linear in their input up to an activation: convolutions (plain,
 * grouped, depthwise; any stride, dilation and padding), dense, per-channel affine and scale.
 *
 * A convolution's input gradient is a forward `Conv` with the flipped, channel-swapped filter when
 * the stride is 1 (ORT runs it through the same fast NCHWc kernels as the forward), and a
 * `ConvTranspose` with the forward filter otherwise (which is exactly the strided conv's transpose).
 */
import type { LeanOp } from '../ops.ts';
import { resolvePads } from '../conv-ops.ts';
import { ACTIVATIONS, reluCap } from './activations.ts';
import type { GraphBuilder } from './builder.ts';
import { channelConstant, isImage, UnsupportedOpError, type Fwd, type Rule, type Val } from './rule.ts';

type Conv = Extract<LeanOp, { op: 'conv2d' }>;
type Dense = Extract<LeanOp, { op: 'dense' }>;
type ActivationName = Conv['activation'];

/** pre → activation → out, with `relu` set for ReLU-like activations. */
function activate(b: GraphBuilder, pre: Val, activation: ActivationName): Fwd {
  const out = { name: ACTIVATIONS[activation].fn(b, pre.name), shape: pre.shape };
  const cap = reluCap(activation);
  return cap === undefined ? { out } : { out, relu: { pre, cap } };
}

/** The gradient with respect to the pre-activation. */
function preGrad(b: GraphBuilder, activation: ActivationName, fwd: Fwd, dy: string, atPre: boolean): string {
  if (atPre || activation === 'linear') return dy;
  const pre = fwd.relu?.pre.name ?? fwd.saved!.pre!;
  return ACTIVATIONS[activation].grad(b, pre, fwd.out.name, dy);
}

/** The conv as a grouped conv: Keras-layout filter [kh, kw, inC/groups, outC] and its groups. */
function grouped(op: Conv): { f: Float32Array; kh: number; kw: number; cin: number; cout: number; groups: number } {
  const [kh, kw, inC, m] = op.filter.shape as [number, number, number, number];
  // Depthwise: input channel c feeds outputs c·m … c·m + m − 1, i.e. a grouped conv with inC groups
  // of one input channel; the [kh, kw, inC, m] layout is already [kh, kw, 1, inC·m] row-major.
  if (op.kind === 'depthwise') return { f: op.filter.data, kh, kw, cin: 1, cout: inC * m, groups: inC };
  return { f: op.filter.data, kh, kw, cin: inC, cout: m, groups: op.groups ?? 1 };
}

/** ONNX conv weights [outC, inC/groups, kh, kw] from the Keras layout. */
function forwardWeights(g: ReturnType<typeof grouped>): Float32Array {
  const { f, kh, kw, cin, cout } = g;
  const w = new Float32Array(f.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) w[((o * cin + c) * kh + i) * kw + j] = f[((i * kw + j) * cin + c) * cout + o]!;
  return w;
}

/**
 * Weights of the stride-1 input gradient as a forward conv from outC to inC channels, same groups:
 * [groups·cin, cout/groups, kh, kw], spatially flipped.
 */
function backwardWeights(g: ReturnType<typeof grouped>): Float32Array {
  const { f, kh, kw, cin, cout, groups } = g;
  const per = cout / groups;
  const w = new Float32Array(f.length);
  for (let gi = 0; gi < groups; gi++)
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < per; o++)
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) w[(((gi * cin + c) * per + o) * kh + i) * kw + j] = f[(((kh - 1 - i) * kw + (kw - 1 - j)) * cin + c) * cout + gi * per + o]!;
  return w;
}

function convGeometry(op: Conv, x: Val) {
  const g = grouped(op);
  const [h, w] = x.shape as [number, number, number];
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const pads = resolvePads(h, w, [g.kh, g.kw], op.strides, op.padding, op.dilations);
  const effH = (g.kh - 1) * dh + 1;
  const effW = (g.kw - 1) * dw + 1;
  const oh = Math.floor((h + pads[0][0] + pads[0][1] - effH) / sh) + 1;
  const ow = Math.floor((w + pads[1][0] + pads[1][1] - effW) / sw) + 1;
  if (oh < 1 || ow < 1) throw new UnsupportedOpError(`a ${g.kh}×${g.kw} convolution on a ${h}×${w} input has no output`);
  // Rows/columns of the input that no window reaches (the transpose must still produce them).
  const rem = [h + pads[0][0] + pads[0][1] - effH - (oh - 1) * sh, w + pads[1][0] + pads[1][1] - effW - (ow - 1) * sw];
  return { g, pads, effH, effW, oh, ow, rem, onnxPads: [pads[0][0], pads[1][0], pads[0][1], pads[1][1]] };
}

const conv2d: Rule<Conv> = {
  forward(b, op, [x]) {
    if (!isImage(x!.shape)) throw new UnsupportedOpError(`conv2d needs an image input, got shape [${x!.shape}]`);
    const { g, oh, ow, onnxPads } = convGeometry(op, x!);
    const w = b.constant(forwardWeights(g), [g.cout, g.cin, g.kh, g.kw], 'conv_w');
    const inputs = [x!.name, w];
    if (op.bias) inputs.push(b.constant(op.bias.data, [g.cout], 'conv_b'));
    const name = b.op1('Conv', inputs, { kernel_shape: [g.kh, g.kw], strides: op.strides, pads: onnxPads, dilations: op.dilations, group: g.groups });
    return { ...activate(b, { name, shape: [oh, ow, g.cout] }, op.activation), saved: { pre: name, w } };
  },
  backward(b, op, [x], fwd, dy, atPre) {
    const { g, pads, effH, effW, rem, onnxPads } = convGeometry(op, x!);
    const d = preGrad(b, op.activation, fwd, dy, atPre);
    const common = { kernel_shape: [g.kh, g.kw], dilations: op.dilations, group: g.groups };
    if (op.strides[0] === 1 && op.strides[1] === 1) {
      const w = b.constant(backwardWeights(g), [g.groups * g.cin, g.cout / g.groups, g.kh, g.kw], 'conv_wT');
      const p = [effH - 1 - pads[0][0], effW - 1 - pads[1][0], effH - 1 - pads[0][1], effW - 1 - pads[1][1]];
      return [b.op1('Conv', [d, w], { ...common, pads: p })];
    }
    // ConvTranspose takes the forward weights as they are: [outC, inC/groups, kh, kw].
    return [b.op1('ConvTranspose', [d, fwd.saved!.w!], { ...common, strides: op.strides, pads: onnxPads, output_padding: rem })];
  },
};

/** Transposes an image tensor so that channels are last (dense acts on the Keras last axis). */
const lastAxis = (b: GraphBuilder, v: Val, name: string, toLast: boolean) => (isImage(v.shape) ? b.op1('Transpose', [name], { perm: toLast ? [0, 2, 3, 1] : [0, 3, 1, 2] }) : name);

const dense: Rule<Dense> = {
  forward(b, op, [x]) {
    const [inF, outF] = op.kernel.shape as [number, number];
    if (x!.shape.at(-1) !== inF) throw new UnsupportedOpError(`dense expects ${inF} input features, got shape [${x!.shape}]`);
    let y = b.op1('MatMul', [lastAxis(b, x!, x!.name, true), b.constant(op.kernel.data, [inF, outF], 'dense_w')]);
    if (op.bias) y = b.op1('Add', [y, b.constant(op.bias.data, [outF], 'dense_b')]);
    const shape = [...x!.shape.slice(0, -1), outF];
    const pre = { name: lastAxis(b, { name: y, shape }, y, false), shape };
    return { ...activate(b, pre, op.activation), saved: { pre: pre.name } };
  },
  backward(b, op, [x], fwd, dy, atPre) {
    const [inF, outF] = op.kernel.shape as [number, number];
    const kT = new Float32Array(inF * outF);
    for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) kT[o * inF + i] = op.kernel.data[i * outF + o]!;
    const d = lastAxis(b, fwd.out, preGrad(b, op.activation, fwd, dy, atPre), true);
    return [lastAxis(b, x!, b.op1('MatMul', [d, b.constant(kT, [outF, inF], 'dense_wT')]), false)];
  },
};

const affine: Rule<Extract<LeanOp, { op: 'affine' }>> = {
  forward(b, op, [x]) {
    const scaled = b.op1('Mul', [x!.name, channelConstant(b, op.scale.data, x!.shape)]);
    return { out: { name: b.op1('Add', [scaled, channelConstant(b, op.shift.data, x!.shape)]), shape: x!.shape } };
  },
  backward: (b, op, [x], _fwd, dy) => [b.op1('Mul', [dy, channelConstant(b, op.scale.data, x!.shape)])],
};

const scale: Rule<Extract<LeanOp, { op: 'scale' }>> = {
  forward: (b, op, [x]) => ({ out: { name: b.op1('Mul', [x!.name, channelConstant(b, op.scale.data, x!.shape)]), shape: x!.shape } }),
  backward: (b, op, [x], _fwd, dy) => [b.op1('Mul', [dy, channelConstant(b, op.scale.data, x!.shape)])],
};

export const LINEAR_RULES = { conv2d, dense, affine, scale } as const;
