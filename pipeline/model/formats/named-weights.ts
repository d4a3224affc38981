/**
 * Weights addressed by name (TF.js `conv1/kernel`, Keras 2 `conv1/kernel:0`, a nested layer's
 * `model1/Conv1/kernel:0`, Windows-saved `conv1\kernel:0`) → a `WeightReader`. A weight is found
 * by its layer and variable name (the last two parts of its name), within the outermost layer's
 * group where the format has groups. Shapes are checked against the layer's config before any
 * data is read, so a file cannot make the reader allocate more than its architecture implies.
 */
import { AtlasError } from '../../errors.ts';
import { variableNames, type LayerLocation, type Weight, type WeightReader } from '../spec.ts';

/** A weight that can be read on demand, after its shape is checked. */
export interface LazyWeight {
  shape: number[];
  read: () => Float32Array;
}

/** Largest single weight accepted (elements): far above any image model's layer (VGG16's fc1 has 103 M). */
const MAX_WEIGHT_ELEMENTS = 2 ** 28;

/** "conv1\\kernel:0" → "conv1/kernel": separators unified, the TF output index dropped. */
function normalName(weightName: string): string {
  return weightName.replace(/\\/g, '/').replace(/:\d+$/, '');
}

/**
 * The weight of `layer`'s variable: named "<layer>/<variable>", or ending in "/<layer>/<variable>"
 * (a nested model's scope first). A layer name may itself hold "/" (TF.js allows any name).
 */
function findWeight(names: [string, LazyWeight][], layer: string, variable: string): LazyWeight | undefined {
  const key = `${layer}/${variable}`;
  return (names.find(([n]) => n === key) ?? names.find(([n]) => n.endsWith(`/${key}`)))?.[1];
}

/** Shape a variable must have by the layer's config (null: any size), or undefined when unchecked. */
function expectedShape(className: string, config: Record<string, unknown>, variable: string): (number | null)[] | undefined {
  const ks = Array.isArray(config.kernel_size) ? (config.kernel_size as number[]) : [Number(config.kernel_size), Number(config.kernel_size)];
  const filters = typeof config.filters === 'number' ? config.filters : null;
  const units = typeof config.units === 'number' ? config.units : null;
  if (variable === 'kernel' && className === 'Dense') return [null, units];
  if (variable === 'kernel') return [ks[0]!, ks[1]!, null, filters];
  if (variable === 'depthwise_kernel') return [ks[0]!, ks[1]!, null, config.depth_multiplier == null ? null : Number(config.depth_multiplier)];
  if (variable === 'pointwise_kernel') return [1, 1, null, filters];
  if (variable === 'bias') return [className === 'Dense' ? units : className === 'DepthwiseConv2D' ? null : filters];
  if (['gamma', 'beta', 'moving_mean', 'moving_variance'].includes(variable) && className === 'BatchNormalization') return [null];
  return undefined;
}

/** Reads a lazy weight after checking its shape against the config and the size cap. */
export function checkedRead(file: string, layer: { className: string; config: Record<string, unknown>; name: string }, variable: string, w: LazyWeight): Weight {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const expected = expectedShape(layer.className, layer.config, variable);
  const fits = !expected || (expected.length === w.shape.length && expected.every((d, i) => d === null || d === w.shape[i]));
  if (!fits || count > MAX_WEIGHT_ELEMENTS) {
    const want = expected ? `[${expected.map((d) => d ?? '?').join(', ')}]` : `at most ${MAX_WEIGHT_ELEMENTS} values`;
    throw new AtlasError(`${file}: weight ${variable} of layer "${layer.name}" (${layer.className}) has shape [${w.shape.join(', ')}]; its config implies ${want} (corrupt or mismatched file?)`, {
      file,
      path: ['model', 'source'],
    });
  }
  const data = w.read();
  if (data.length !== count)
    throw new AtlasError(`${file}: weight ${variable} of layer "${layer.name}" holds ${data.length} values, expected ${count} (truncated file?)`, { file, path: ['model', 'source'] });
  return { shape: w.shape, data };
}

/**
 * A reader over named weights. `groups(top)` lists the weights stored for an outermost layer
 * (formats without groups return them all), keyed by full weight name.
 */
export function namedWeightReader(file: string, groups: (top: string) => Map<string, LazyWeight>): WeightReader {
  return (layer, where: LayerLocation) => {
    const names = variableNames(layer.className, layer.config);
    if (names.length === 0) return [];
    const group = groups(where.names[0]!);
    const stored = [...group].map(([n, w]) => [normalName(n), w] as [string, LazyWeight]);
    const local = where.names[where.names.length - 1]!;
    // A top-level layer's group holds only its own weights, in Keras order: the fallback when a
    // layer was renamed after its weights were created.
    const inOrder = where.names.length === 1 && group.size === names.length ? [...group.values()] : undefined;
    return names.map((v, i) => {
      const w = findWeight(stored, local, v) ?? inOrder?.[i];
      if (!w) {
        const have = [...group.keys()].slice(0, 8).join(', ') || 'none';
        throw new AtlasError(`${file}: no weight "${v}" for layer "${layer.name}" (${layer.className}); weights stored there: ${have}`, { file, path: ['model', 'source'] });
      }
      return checkedRead(file, layer, v, w);
    });
  };
}
