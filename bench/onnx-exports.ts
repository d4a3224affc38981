/**
 * ONNX exports made elsewhere (`bench/onnx_exports.py`: torchvision models at other opsets) against
 * the atlas: each file under the folder loads or is refused (the message), and where it loads, the
 * relative error of a few mapped nodes and the output against ONNX Runtime running the file.
 *
 *   npx tsx bench/onnx-exports.ts <folder>
 */
import fs from 'node:fs';
import path from 'node:path';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { AtlasError } from '../pipeline/errors.ts';
import { compareWithOrt } from '../test/support/onnx-compare.ts';

function onnxFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .flatMap((name) => {
      const p = path.join(dir, name);
      return fs.statSync(p).isDirectory() ? onnxFiles(p) : name.endsWith('.onnx') ? [p] : [];
    })
    .sort();
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/onnx-exports.ts <folder of .onnx files>');
await selectBackend('wasm');
console.log('| file | result | max relative error (nodes) |\n|---|---|---|');
for (const file of onnxFiles(dir)) {
  const rel = path.relative(dir, file);
  try {
    const errors = await compareWithOrt(fs.readFileSync(file), file);
    const worst = Math.max(...errors.map((e) => e.error));
    console.log(`| ${rel} | loads | ${worst.toExponential(2)} (${errors.map((e) => e.node).join(', ')}) |`);
  } catch (err) {
    if (!(err instanceof AtlasError)) throw err;
    console.log(`| ${rel} | refused | ${err.message.replace(`${file}: `, '').slice(0, 300)} |`);
  }
}
