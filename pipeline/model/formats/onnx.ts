/**
 * An ONNX file (`torch.onnx.export`) → lean nodes: decoded and checked as untrusted input
 * (`onnx/proto.ts`), converted from NCHW to the lean graph's NHWC once (`onnx/convert.ts`).
 * External data (`model.onnx.data`) is read from beside the file only.
 */
import { convertOnnx, type ConvertedOnnx } from '../onnx/convert.ts';
import { decodeModel } from '../onnx/proto.ts';

export { looksLikeOnnx } from '../onnx/proto.ts';

export function readOnnx(bytes: Uint8Array, file: string): ConvertedOnnx {
  return convertOnnx(decodeModel(bytes, file), file);
}
