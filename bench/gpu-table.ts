/**
 * The Markdown table of a GPU check's rows (bench/gpu-check.sh → bench/results/<date>-<device>.jsonl)
 * for bench/gpu-results.md: per trunk, backend and steps per call, ms per step at each batch, PyTorch's beside, and
 * the ratio (ours ÷ PyTorch's time); then the notes' job. Usage: node --import tsx bench/gpu-table.ts ROWS.jsonl
 */
import fs from 'node:fs';

type Row = Record<string, unknown> & { kind: string; backend: string };
const rows = fs
  .readFileSync(process.argv[2]!, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row);
const steps = rows.filter((r) => r.kind === 'step' && r.size === 224);
const trunks = [
  ['mobilenet_v1_0.75_224', 'conv_pw_13_relu', 'MobileNet v1 0.75'],
  ['resnet50v2', 'conv3_block4_out', 'ResNet50V2'],
  ['vgg16', 'block5_conv3', 'VGG16'],
] as const;
const batches = [...new Set(steps.map((r) => r.batch as number))].sort((a, b) => a - b);
const ms = (list: Row[], batch: number) => list.find((r) => r.batch === batch)?.msPerStep as number | undefined;
const fmt = (v: number | undefined) => (v === undefined ? '–' : String(v));
console.log(`| trunk → layer (224 px) | backend | ms/step, batch ${batches.join(' / ')} | PyTorch CUDA | ratio |`);
console.log('|---|---|---|---|---|');
for (const [model, layer, label] of trunks) {
  const of = (r: Row) => r.model === model && r.layer === layer;
  const torch = steps.filter((r) => of(r) && r.backend.startsWith('pytorch'));
  // One line per backend and chain length (onnx-* rows time 1 and K steps per call).
  const lineOf = (r: Row) => `${r.backend}${((r.stepsPerCall as number | undefined) ?? 1) > 1 ? `, ${r.stepsPerCall} steps/call` : ''}`;
  for (const backend of [...new Set(steps.filter((r) => of(r) && !r.backend.startsWith('pytorch')).map(lineOf))]) {
    const ours = steps.filter((r) => of(r) && lineOf(r) === backend);
    const ratios = batches.map((b) => {
      const [a, t] = [ms(ours, b), ms(torch, b)];
      return a && t ? (a / t).toFixed(2) : '–';
    });
    console.log(`| ${label} → \`${layer}\` | ${backend} | ${batches.map((b) => fmt(ms(ours, b))).join(' / ')} | ${batches.map((b) => fmt(ms(torch, b))).join(' / ')} | ${ratios.join(' / ')} |`);
  }
}
for (const r of rows.filter((r) => r.kind === 'notes-job'))
  console.log(
    `\nNotes' job (${r.units} filters × ${r.steps} steps of ${r.model} ${r.layer}, batch auto) on ${r.backend}: ${r.seconds} s end to end, ${r.computed} computed, ${r.failed} failed${r.interrupted ? `, stopped at the time limit (whole job projected: ${r.projectedSeconds} s)` : ''}`,
  );
