/** The bench's human-readable output (`bench/cli.ts` without --json): the step table and one line per other row. */
import os from 'node:os';

export function printTables(out: Record<string, unknown>[]): void {
  const steps = out.filter((r) => r.kind === 'step');
  const cols = ['backend', 'model', 'layer', 'size', 'batch', 'stepsPerCall', 'msPerStep', 'unitStepsPerSec'];
  const table = (rows: Record<string, unknown>[], keys: string[]) => {
    const w = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
    const line = (vals: string[]) => vals.map((v, i) => (i >= 3 ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ');
    console.log(line(keys));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
  };
  console.log(`\nGradient steps (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs: ${os.cpus()[0]?.model ?? '?'})`);
  table(steps, cols);
  for (const r of out.filter((r) => r.kind === 'projection')) console.log(`\nNotes' job (${r.units} filters × ${r.steps} steps of ${r.model} ${r.layer}, batch ${r.batch}) on ${r.backend}: ${r.hours} h`);
  for (const r of out.filter((r) => r.kind === 'ratio'))
    console.log(`\n${r.model} → ${r.layer}, 224, batch ${r.batch}: ${r.backend} (${r.stepsPerCall} steps per call) is ${r.ratio}× the time of ${r.reference}`);
  for (const r of out.filter((r) => r.kind === 'e2e'))
    console.log(
      `\nEnd to end (${r.backend}, ${r.model}, ${r.units} units × ${r.steps} steps, media ${r.media}, batch auto, ${r.workers} worker${r.workers === 1 ? '' : 's'}, load ${r.load1} before): ${r.seconds} s, ${r.unitsPerMinute} units/min, ${r.cpuSeconds} CPU s (${r.coresBusy} cores busy)`,
    );
  for (const r of out.filter((r) => r.kind === 'e2e-speedup' && r.workers !== 1))
    console.log(
      `${r.backend}, media ${r.media}: ${r.workers} workers give ${r.ratio}× the units/min of 1 (medians of ${r.rounds} rounds; 1 worker keeps ${out.find((o) => o.kind === 'e2e-speedup' && o.backend === r.backend && o.media === r.media && o.workers === 1)?.coresBusy} cores busy)`,
    );
  for (const r of out.filter((r) => r.kind === 'lucid-step'))
    console.log(
      `\nLucid vs lecture (${r.backend}, ${r.model} → ${r.layer}, ${r.size} px, batch ${r.batch}, median of ${r.steps} steps each, interleaved): CPU time per unit-step lucid ${r.lucidMsPerUnitStep} ms, lecture ${r.lectureMsPerUnitStep} ms, ${r.ratio}×; wall time ${r.lucidWallMsPerUnitStep} ms, ${r.lectureWallMsPerUnitStep} ms, ${r.wallRatio}×`,
    );
  for (const r of out.filter((r) => r.kind === 'dataset'))
    console.log(`\nDataset examples (${r.backend}, ${r.model}, forward pass over ${r.layers} layers + logits, batch ${r.batch}): ${r.photosPerSec} photos/s`);
}
