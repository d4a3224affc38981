/**
 * The lecture notes' models as `tf.LayersModel`s with seeded random weights: the real
 * `keras.applications` ResNet50V2 and VGG16 graphs (same layer names, shapes, paddings and
 * strides), for benches and tests on machines that cannot download ImageNet weights. Speed and
 * graph structure depend on the architecture, not on the weights.
 *
 * Weights are drawn from a mulberry32 stream in `model.weights` order, so a seed gives the same
 * model on every backend and every run. Kernels are He-uniform (activations keep their scale
 * through ReLU stacks); batch norm statistics are non-trivial so that folding them is exercised.
 */
import * as tf from '@tensorflow/tfjs';
import { prng } from '../pipeline/render/seed.ts';

export interface ArchitectureOptions {
  /** Square input size in pixels (default 224). */
  size?: number;
  /** Weight seed (default 1). */
  seed?: number;
}

export interface ResNet50V2Options extends ArchitectureOptions {
  /**
   * Last stage built: 'conv3' stops at `conv3_block4_out` (the lecture's layer, default);
   * 'conv5' ends at `post_relu`; 'top' adds `avg_pool` and the 1000-class `predictions`.
   */
  until?: 'conv3' | 'conv4' | 'conv5' | 'top';
}

export interface Vgg16Options extends ArchitectureOptions {
  /** Add `flatten`, `fc1`, `fc2` and the softmax `predictions` (default false: ends at `block5_pool`). */
  includeTop?: boolean;
  /** Width of fc1/fc2 (Keras: 4096). Smaller only to keep a test's memory down; names stay the same. */
  denseUnits?: number;
  /** Number of classes of `predictions` (default 1000). */
  classes?: number;
}

type Sym = tf.SymbolicTensor;
const BN_EPS = 1.001e-5;

function bn(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPS, name });
}

/** keras.applications.resnet_v2 block2 (pre-activation bottleneck). */
function block2(x: Sym, filters: number, name: string, stride: number, convShortcut: boolean, pools: { n: number }): Sym {
  const preact = tf.layers.activation({ activation: 'relu', name: `${name}_preact_relu` }).apply(bn(`${name}_preact_bn`).apply(x)) as Sym;
  let shortcut: Sym;
  if (convShortcut) shortcut = tf.layers.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }).apply(preact) as Sym;
  else if (stride > 1) {
    // Keras leaves this pool unnamed: it gets the session's auto names max_pooling2d, max_pooling2d_1, …
    const poolName = pools.n === 0 ? 'max_pooling2d' : `max_pooling2d_${pools.n}`;
    pools.n++;
    shortcut = tf.layers.maxPooling2d({ poolSize: 1, strides: stride, name: poolName }).apply(x) as Sym;
  } else shortcut = x;
  let y = tf.layers.conv2d({ filters, kernelSize: 1, useBias: false, name: `${name}_1_conv` }).apply(preact) as Sym;
  y = tf.layers.activation({ activation: 'relu', name: `${name}_1_relu` }).apply(bn(`${name}_1_bn`).apply(y)) as Sym;
  y = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: `${name}_2_pad`,
    })
    .apply(y) as Sym;
  y = tf.layers.conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}_2_conv` }).apply(y) as Sym;
  y = tf.layers.activation({ activation: 'relu', name: `${name}_2_relu` }).apply(bn(`${name}_2_bn`).apply(y)) as Sym;
  y = tf.layers.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }).apply(y) as Sym;
  return tf.layers.add({ name: `${name}_out` }).apply([shortcut, y]) as Sym;
}

/** keras.applications.resnet_v2 stack2: the first block has a conv shortcut, the last one strides. */
function stack2(x: Sym, filters: number, blocks: number, stride: number, name: string, pools: { n: number }): Sym {
  let y = block2(x, filters, `${name}_block1`, 1, true, pools);
  for (let i = 2; i < blocks; i++) y = block2(y, filters, `${name}_block${i}`, 1, false, pools);
  return block2(y, filters, `${name}_block${blocks}`, stride, false, pools);
}

/** keras.applications.ResNet50V2 (weights=None), truncated at `until`, with seeded weights. */
export function resnet50v2(options: ResNet50V2Options = {}): tf.LayersModel {
  const size = options.size ?? 224;
  const until = options.until ?? 'conv3';
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = tf.layers
    .zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'conv1_pad',
    })
    .apply(input) as Sym;
  x = tf.layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }).apply(x) as Sym;
  x = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    })
    .apply(x) as Sym;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as Sym;
  const pools = { n: 0 };
  const stages: [string, number, number, number][] = [
    ['conv2', 64, 3, 2],
    ['conv3', 128, 4, 2],
    ['conv4', 256, 6, 2],
    ['conv5', 512, 3, 1],
  ];
  for (const [name, filters, blocks, stride] of stages) {
    x = stack2(x, filters, blocks, stride, name, pools);
    if (name === until) break;
  }
  if (until === 'conv5' || until === 'top') {
    x = tf.layers.activation({ activation: 'relu', name: 'post_relu' }).apply(bn('post_bn').apply(x)) as Sym;
  }
  if (until === 'top') {
    x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
    x = tf.layers.dense({ units: 1000, activation: 'softmax', name: 'predictions' }).apply(x) as Sym;
  }
  return seeded(tf.model({ inputs: input, outputs: x, name: 'resnet50v2' }), options.seed ?? 1);
}

/** keras.applications.VGG16 (weights=None), with seeded weights. */
export function vgg16(options: Vgg16Options = {}): tf.LayersModel {
  const size = options.size ?? 224;
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x: Sym = input;
  const blocks: [number, number][] = [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ];
  for (const [b, [filters, convs]] of blocks.entries()) {
    for (let c = 1; c <= convs; c++) {
      x = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${c}` }).apply(x) as Sym;
    }
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as Sym;
  }
  if (options.includeTop) {
    const units = options.denseUnits ?? 4096;
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
    x = tf.layers.dense({ units, activation: 'relu', name: 'fc1' }).apply(x) as Sym;
    x = tf.layers.dense({ units, activation: 'relu', name: 'fc2' }).apply(x) as Sym;
    x = tf.layers.dense({ units: options.classes ?? 1000, activation: 'softmax', name: 'predictions' }).apply(x) as Sym;
  }
  return seeded(tf.model({ inputs: input, outputs: x, name: 'vgg16' }), options.seed ?? 1);
}

/** Replaces every weight with seeded values (see the file comment); returns the model. */
export function seeded(model: tf.LayersModel, seed: number): tf.LayersModel {
  const next = prng(seed);
  const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
  const values = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const kind = w.originalName.split('/').pop()!;
    if (kind === 'kernel' || kind === 'depthwise_kernel' || kind === 'pointwise_kernel') {
      // He-uniform over the fan-in (all axes but the last; a depthwise kernel's fan-in is kh·kw).
      const fanIn = kind === 'depthwise_kernel' ? shape[0]! * shape[1]! : n / shape[shape.length - 1]!;
      const limit = Math.sqrt(6 / fanIn);
      return tf.tensor(uniform(n, -limit, limit), shape);
    }
    if (kind === 'gamma' || kind === 'moving_variance') return tf.tensor(uniform(n, 0.5, 1.5), shape);
    return tf.tensor(uniform(n, -0.1, 0.1), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
  return model;
}
