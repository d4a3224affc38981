/** Helpers for the workers and shards tests: a tiny real atlas, image hashes, worker pids. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../../pipeline/output/manifest.ts';
import { hashTree, SMALL_MODEL } from './robust-run.ts';

/** 14 units of MobileNet v1 0.25 at 64 px, a few steps each, batches of 2 (7 batches). */
export const scaleConfig = (output: string, extra = '') => `
model: {id: mobilenet_v1_0.25_224, source: ${SMALL_MODEL}}
layers: {conv_pw_1_relu: 0-5, conv_pw_3_relu: 0-3}
classes: [141, 1, 967, 980]
render: {size: 64, seed: 7, lecture: {filters: {steps: 6}, classes: {steps: 3}}, batch: 2, backend: wasm${extra}}
output: ${output}
`;
export const SCALE_UNITS = 14;

/**
 * Hashes of the images a unit or sheet is made of, by path: PNG, WebP thumbnail and frames ZIP.
 * GIFs are left out: libvips' palette quantization is not bit-reproducible (see robust-kill.test.ts).
 */
export async function imageHashes(dir: string): Promise<Map<string, string>> {
  const all = await hashTree(dir);
  return new Map([...all].filter(([k]) => /\.(png|webp|zip)$/.test(k)));
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

/** Unit entries without what depends on timing. */
export function unitsOf(m: Manifest): unknown[] {
  return m.units.map(({ seconds: _s, ...u }) => u);
}

/** Pids of `parent`'s worker processes (children running worker-main.ts), from /proc. */
export async function workerPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== parent) continue;
    const cmd = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('worker-main.ts')) pids.push(Number(name));
  }
  return pids;
}

export async function alive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // A zombie (state Z) has ended: only its parent has not collected it yet.
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
