/**
 * The table of supported Keras layer classes → lean ops. A new layer type is one more entry.
 * The helpers (activations, conv, pooling, batch norm) are in lower-layers.ts.
 */
import type { Weight } from './ops.ts';
import { activationName, batchNormAffine, channelsLast, conv, globalPool, identity, lastAxis, merge, pads, perChannel, pool, Unsupported, vec, type LayerRule } from './lower-layers.ts';

/** Layers that only act in training (noise, dropout, augmentation): the identity at inference. */
const INFERENCE_IDENTITY = [
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'ActivityRegularization',
  'RandomFlip',
  'RandomRotation',
  'RandomZoom',
  'RandomTranslation',
  'RandomHeight',
  'RandomWidth',
  'RandomContrast',
  'RandomBrightness',
  'RandomSaturation',
  'RandomHue',
  'RandomGrayscale',
  'RandomColorJitter',
  'RandomSharpness',
  'RandomShear',
  'RandomPosterization',
  'RandomInvert',
  'RandomErasing',
  'RandomGaussianBlur',
  'RandomPerspective',
  'RandomElasticTransform',
  'AutoContrast',
  'RandAugment',
  'Identity',
  // ConvNeXt's drop path: the identity at inference.
  'StochasticDepth',
];

/** Element-wise ops with a scalar: Keras 2 TFOpLambda functions and Keras 3 op nodes. */
const SCALAR_OPS: Record<string, 'add' | 'multiply' | 'subtract' | 'truediv'> = {
  '__operators__.add': 'add',
  'math.add': 'add',
  'math.multiply': 'multiply',
  'math.subtract': 'subtract',
  'math.truediv': 'truediv',
  'ops.Add': 'add',
  'ops.Multiply': 'multiply',
  'ops.Subtract': 'subtract',
  'ops.Divide': 'truediv',
  'ops.TrueDivide': 'truediv',
};

/** `x + 3.0`, `x * (1 / 6)` (MobileNetV3's hard sigmoid) → a per-channel affine; two tensors → a merge. */
const scalarOp: LayerRule = ({ className, config, args, inShape }) => {
  const name = className === 'TFOpLambda' ? String(config.function) : className;
  const fn = SCALAR_OPS[name];
  if (!fn) throw new Unsupported(`operation "${name}"`);
  if (!args) {
    if (fn === 'truediv') throw new Unsupported('division of two tensors');
    return [{ op: { op: 'merge', merge: fn } }];
  }
  const c = Number(args.find((a) => typeof a === 'number'));
  const tensorFirst = typeof args[0] === 'string';
  if (args.length !== 2 || (fn === 'truediv' && !tensorFirst)) throw new Unsupported(`operation "${name}" on (${args.join(', ')})`);
  const [scale, shift] = { add: [1, c], multiply: [c, 0], subtract: tensorFirst ? [1, -c] : [-1, c], truediv: [1 / c, 0] }[fn];
  const channels = inShape[inShape.length - 1]!;
  return [{ op: { op: 'affine', scale: vec(perChannel(scale, channels, 'scale')), shift: vec(perChannel(shift, channels, 'shift')) } }];
};

const activation: LayerRule = ({ config, dialect }) => {
  // Keras 3's activation "leaky_relu" (negative slope 0.2) is an op with a parameter.
  if (config.activation === 'leaky_relu') return [{ op: { op: 'leakyRelu', alpha: 0.2 } }];
  const act = activationName(config.activation, dialect);
  if (act === 'softmax') return [{ op: { op: 'softmax', axis: -1 } }];
  return [{ op: { op: 'activation', activation: act } }];
};

const relu: LayerRule = ({ config }) => {
  const slope = Number(config.negative_slope ?? 0);
  const threshold = Number(config.threshold ?? 0);
  const max = config.max_value == null ? Infinity : Number(config.max_value);
  if (threshold !== 0) throw new Unsupported(`threshold ${threshold}`);
  if (slope === 0) return [{ op: { op: 'clip', min: 0, max } }];
  if (max === Infinity) return [{ op: { op: 'leakyRelu', alpha: slope } }];
  throw new Unsupported(`negative_slope ${slope} with max_value ${max}`);
};

const dense: LayerRule = ({ config, weights, dialect }) => {
  const act = activationName(config.activation, dialect);
  const op = { op: 'dense' as const, kernel: weights[0]!, ...(config.use_bias === false ? {} : { bias: weights[1]! }), activation: act === 'softmax' ? ('linear' as const) : act };
  // Split so that the pre-softmax logit is a node of its own.
  return act === 'softmax'
    ? [
        { op, suffix: '/logits' },
        { op: { op: 'softmax', axis: -1 }, className: 'Softmax' },
      ]
    : [{ op }];
};

const separable: LayerRule = (l) => {
  const { config, weights } = l;
  const [depthwise, pointwise, bias] = weights as [Weight, Weight, Weight?];
  const dw = conv('depthwise')({ ...l, config: { ...config, activation: 'linear', use_bias: false }, weights: [depthwise] })[0]!;
  const pw = conv('conv')({ ...l, config: { ...config, strides: 1, dilation_rate: 1, padding: 'valid' }, weights: bias ? [pointwise, bias] : [pointwise] });
  return [{ ...dw, suffix: '/depthwise', className: 'DepthwiseConv2D' }, ...pw];
};

const batchNorm: LayerRule = ({ config, weights, inShape }) => {
  lastAxis(config, inShape.length);
  const { scale, shift } = batchNormAffine(config, weights);
  return [{ op: { op: 'affine', scale: vec(scale), shift: vec(shift) } }];
};

/** Keras Normalization: (x − mean) / max(√variance, 1e-7) per channel. */
const normalization: LayerRule = ({ config, weights, inShape }) => {
  if (config.invert === true) throw new Unsupported('invert: true');
  lastAxis({ axis: config.axis ?? -1 }, inShape.length);
  const c = inShape[inShape.length - 1]!;
  const mean = perChannel(config.mean ?? Array.from(weights[0]!.data), c, 'mean');
  const variance = perChannel(config.variance ?? Array.from(weights[1]!.data), c, 'variance');
  const scale = variance.map((v) => 1 / Math.max(Math.sqrt(v), 1e-7));
  return [{ op: { op: 'affine', scale: vec(scale), shift: vec(mean.map((m, i) => -m * scale[i]!)) } }];
};

const rescaling: LayerRule = ({ config, inShape }) => {
  const c = inShape[inShape.length - 1]!;
  return [{ op: { op: 'affine', scale: vec(perChannel(config.scale ?? 1, c, 'scale')), shift: vec(perChannel(config.offset ?? 0, c, 'offset')) } }];
};

const resizing: LayerRule = ({ config }) => {
  if (config.crop_to_aspect_ratio === true || config.pad_to_aspect_ratio === true) throw new Unsupported('crop_to_aspect_ratio / pad_to_aspect_ratio');
  const method = typeof config.interpolation === 'string' ? config.interpolation : 'bilinear';
  if (method !== 'bilinear' && method !== 'nearest') throw new Unsupported(`interpolation "${method}"`);
  return [{ op: { op: 'resize', size: [Number(config.height), Number(config.width)], method } }];
};

const upsampling: LayerRule = ({ config, inShape }) => {
  channelsLast(config);
  const [fh, fw] = [Number((config.size as number[])?.[0] ?? 2), Number((config.size as number[])?.[1] ?? 2)];
  if (config.interpolation === 'bilinear') return [{ op: { op: 'resize', size: [inShape[0]! * fh, inShape[1]! * fw], method: 'bilinear' } }];
  if ((config.interpolation ?? 'nearest') !== 'nearest') throw new Unsupported(`interpolation "${String(config.interpolation)}"`);
  return [{ op: { op: 'upsample', factor: [fh, fw] } }];
};

const layerNorm: LayerRule = ({ config, weights, inShape }) => {
  lastAxis(config, inShape.length);
  if (config.rms_scaling === true) throw new Unsupported('rms_scaling');
  let i = 0;
  const gamma = config.scale === false ? undefined : weights[i++];
  const beta = config.center === false ? undefined : weights[i++];
  return [{ op: { op: 'layerNorm', epsilon: Number(config.epsilon ?? 1e-3), ...(gamma ? { gamma } : {}), ...(beta ? { beta } : {}) } }];
};

const cropping: LayerRule = ({ config }) => {
  const [[t, b], [l, r]] = pads(config.cropping);
  return [
    {
      op: {
        op: 'pad',
        pads: [
          [-t, -b],
          [-l, -r],
        ],
      },
    },
  ];
};

export const RULES: Record<string, LayerRule> = {
  ...Object.fromEntries(INFERENCE_IDENTITY.map((c) => [c, identity])),
  InputLayer: () => [{ op: { op: 'input' } }],
  TFOpLambda: scalarOp,
  ...Object.fromEntries(
    Object.keys(SCALAR_OPS)
      .filter((k) => k.startsWith('ops.'))
      .map((k) => [k, scalarOp]),
  ),
  Conv2D: conv('conv'),
  DepthwiseConv2D: conv('depthwise'),
  SeparableConv2D: separable,
  Dense: dense,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Normalization: normalization,
  Rescaling: rescaling,
  Resizing: resizing,
  LayerScale: ({ weights }) => [{ op: { op: 'scale', scale: weights[0]! } }],
  Activation: activation,
  ReLU: relu,
  LeakyReLU: ({ config }) => [{ op: { op: 'leakyRelu', alpha: Number(config.negative_slope ?? config.alpha ?? 0.3) } }],
  ELU: ({ config }) => {
    if (Number(config.alpha ?? 1) !== 1) throw new Unsupported(`alpha ${String(config.alpha)}`);
    return [{ op: { op: 'activation', activation: 'elu' } }];
  },
  Softmax: ({ config, inShape }) => {
    const axis = Number(Array.isArray(config.axis) ? config.axis[0] : (config.axis ?? -1));
    // Over the last axis only (TF.js's softmax): the axis of a batched tensor, -1 or its rank − 1.
    if (axis !== -1 && axis !== inShape.length) throw new Unsupported(`axis ${axis} (only the last axis)`);
    return [{ op: { op: 'softmax', axis: -1 } }];
  },
  Flatten: () => [{ op: { op: 'reshape', shape: [-1] } }],
  Reshape: ({ config }) => [{ op: { op: 'reshape', shape: (config.target_shape as number[]).map(Number) } }],
  ZeroPadding2D: ({ config }) => [{ op: { op: 'pad', pads: pads(config.padding) } }],
  Cropping2D: cropping,
  MaxPooling2D: pool('max'),
  AveragePooling2D: pool('avg'),
  GlobalAveragePooling2D: globalPool('avg'),
  GlobalMaxPooling2D: globalPool('max'),
  UpSampling2D: upsampling,
  Add: merge('add'),
  Subtract: merge('subtract'),
  Multiply: merge('multiply'),
  Average: merge('average'),
  Maximum: merge('maximum'),
  Minimum: merge('minimum'),
  Concatenate: ({ config }) => [{ op: { op: 'concat', axis: Number(config.axis ?? -1) } }],
};
