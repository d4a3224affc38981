/**
 * From the config's `model.pixels` and the model to the pixel space the model's input expects,
 * with the reason in words (the pipeline prints it). Presets are `keras.applications`'
 * preprocess modes; explicit range/mean/std/channelOrder override a preset's values.
 */
import type { PixelsConfig, PixelPreset } from '../config/model-schema.ts';
import type { LeanGraph } from '../engine/graph.ts';
import type { PixelSpace } from './pixels.ts';

const PRESETS: Record<PixelPreset, PixelSpace> = {
  tf: { range: [-1, 1] },
  // keras.applications' caffe mode: RGB → BGR, then the ImageNet mean (in BGR order) on [0, 255].
  caffe: { range: [0, 255], mean: [103.939, 116.779, 123.68], channelOrder: 'bgr' },
  torch: { range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  raw: { range: [0, 255] },
};

/** Input-side layers that do not change pixels at inference (augmentation, dropout, noise). */
function leadingScaler(graph: LeanGraph): string | undefined {
  const consumers = (name: string) => graph.nodes.filter((n) => n.inputs.includes(name));
  let next = consumers(graph.inputName);
  while (next.length === 1 && next[0]!.op.op === 'identity') next = consumers(next[0]!.name);
  const first = next.length === 1 ? next[0]! : undefined;
  return first && (first.className === 'Rescaling' || first.className === 'Normalization') ? `${first.name} (${first.className})` : undefined;
}

export interface ResolvedPixels {
  space: PixelSpace;
  /** Why this range, for the run's log. */
  note: string;
}

/** `format` 'onnx': a PyTorch export, whose default is the torch preset. */
export function resolvePixels(config: PixelsConfig, graph: LeanGraph, format?: string): ResolvedPixels {
  const channels = graph.inputShape[2];
  const gray: Partial<PixelSpace> = channels === 1 ? { channels: 1 } : {};
  const grayNote = channels === 1 ? "; the model takes one channel, which it gets as the mean of the image's R, G and B" : '';
  if ('fromDefault' in config) {
    const scaler = leadingScaler(graph);
    if (scaler) return { space: { range: [0, 255], ...gray }, note: `pixels: [0, 255], because the model starts with ${scaler}, which scales pixels itself (set model.pixels to override)${grayNote}` };
    if (format === 'onnx') {
      return {
        space: { ...PRESETS.torch, ...gray },
        note: `pixels: [0, 1] minus the ImageNet mean, over its std (preset torch), the default for an ONNX file: PyTorch models take torchvision's normalization (set model.pixels if the model expects otherwise)${grayNote}`,
      };
    }
    return { space: { range: [-1, 1], ...gray }, note: `pixels: [-1, 1], the default (keras.applications "tf" mode; set model.pixels if the model expects otherwise)${grayNote}` };
  }
  const base = config.preset ? PRESETS[config.preset] : { range: config.range! };
  const space: PixelSpace = { ...base, ...gray };
  if (config.range) space.range = config.range;
  if (config.mean) space.mean = config.mean;
  if (config.std) space.std = config.std;
  if (config.channelOrder === 'bgr') space.channelOrder = 'bgr';
  if (config.channelOrder === 'rgb') delete space.channelOrder;
  const what = config.preset ? `preset ${config.preset}` : 'model.pixels';
  return {
    space,
    note: `pixels: [${space.range.join(', ')}]${space.mean ? ` minus mean [${space.mean.join(', ')}]` : ''}${space.std ? ` over std [${space.std.join(', ')}]` : ''}${space.channelOrder === 'bgr' ? ', BGR order' : ''}, from ${what}${grayNote}`,
  };
}
