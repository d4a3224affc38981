/**
 * Issue 18's stall measure, per layer of an atlas's output folder: distinct frames in each filter
 * unit's published GIF (a frozen optimization repeats its frame), the `stalled` and
 * `not-selective` flags, the median final objective, and how often the target is strictly the
 * layer's top channel (on the layer output, and before its ReLU clip); then the class units' top-1.
 *
 *   npx tsx bench/gif-frames.ts <output folder> [...]
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import { classQualityOf, filterQualityOf, readManifest } from '../pipeline/output/manifest.ts';

/** Distinct frames of an animated GIF (by the bytes of each decoded page). */
async function distinctFrames(file: string): Promise<number> {
  const img = sharp(file, { pages: -1 });
  const { pages = 1, pageHeight } = await img.metadata();
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const per = info.width * (pageHeight ?? info.height) * info.channels;
  const seen = new Set<string>();
  for (let p = 0; p < pages; p++)
    seen.add(
      createHash('sha1')
        .update(data.subarray(p * per, (p + 1) * per))
        .digest('hex'),
    );
  return seen.size;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

for (const dir of process.argv.slice(2)) {
  const m = await readManifest(dir);
  console.log(`== ${dir}`);
  for (const layer of m.layers) {
    const units = m.units.filter((u) => u.kind === 'filter' && u.layer === layer.name && u.files);
    const frames = await Promise.all(units.map((u) => distinctFrames(path.join(dir, u.files!.gif))));
    const q = units.map((u) => filterQualityOf(u)!);
    const strict = (r: { rank: number; ties: number } | undefined) => !!r && r.rank === 0 && r.ties === 0;
    console.log(
      `${layer.name.padEnd(16)} ${units.length} filters  distinct GIF frames min ${Math.min(...frames)} median ${median(frames)}  ` +
        `stalled ${units.filter((u) => u.flags.includes('stalled')).length}  not-selective ${units.filter((u) => u.flags.includes('not-selective')).length}  ` +
        `final objective median ${median(units.map((u) => u.finalObjective)).toFixed(2)}  strictly top ${q.filter(strict).length}/${q.length} (before the clip ${q.filter((r) => strict(r.preActivation)).length}/${q.length})`,
    );
  }
  const classes = m.units.filter((u) => u.kind === 'class');
  console.log(`classes: top-1 ${classes.filter((u) => classQualityOf(u)?.top1IsTarget).length}/${classes.length}`);
}
