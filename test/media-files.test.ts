/**
 * Published media on the real MobileNet v1 0.25 (224 px, few steps): one atlas written with
 * `site.media: full` (today's lossless files), then the same config re-encoded as `compact` (the
 * tier the whole atlas gets at the default budget) from the stored frames, without rendering again.
 * Checks that `full` is byte for byte today's encoders, that each compact GIF decodes with a non-zero
 * delay on every frame and starts and ends on the recorded start and final images within palette
 * error, and that a class image read back from its published JPEG keeps its top-1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { encodeUnit } from '../pipeline/output/encode-unit.ts';
import { encodeFramesZip } from '../pipeline/output/frames-zip.ts';
import { encodeGif, encodePng, encodeThumb } from '../pipeline/output/images.ts';
import { readManifest, type Manifest, type ManifestUnit } from '../pipeline/output/manifest.ts';
import { FULL_TIER, TIERS } from '../pipeline/output/media-plan.ts';
import { classQuality } from '../pipeline/render/quality.ts';
import { decodeGif } from '../src/lib/gif-decode.ts';
import { storedZip } from '../pipeline/output/stored-zip.ts';
import { M025, runCli, sharedGraph, tempDir, writeConfig } from './support/fixtures.ts';

const COMPACT = TIERS.find((t) => t.name === 'compact')!;
let dir: string;
let full: Manifest;
let compact: Manifest;
/** Every recorded frame of each unit (from the `full` run's stored ZIPs), by unit key. */
const recorded = new Map<string, Uint8Array[]>();
let secondRun = '';

const rgb = async (input: Uint8Array | Buffer, size?: [number, number]) => {
  let img = sharp(input).removeAlpha();
  if (size) img = img.resize(size[0], size[1], { kernel: 'lanczos3' });
  return new Uint8Array(await img.raw().toBuffer());
};
const meanAbs = (a: Uint8Array, b: Uint8Array) => {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

before(async () => {
  dir = await tempDir('fa-media-');
  const yaml = (media: string) =>
    [
      `model: { id: ${M025}, source: ${M025} }`,
      'layers: { conv_pw_3_relu: [0, 1], conv_pw_11_relu: [5] }',
      'classes: [goldfish]',
      'render:',
      '  batch: 4',
      '  lecture: { filters: { steps: 14 }, classes: { steps: 30 } }',
      `output: ${JSON.stringify(path.join(dir, 'data'))}`,
      `site: { media: ${media} }`,
      '',
    ].join('\n');
  const first = await runCli(['pipeline', '--config', await writeConfig(dir, yaml('full'))]);
  assert.equal(first.code, 0, first.stderr);
  full = await readManifest(path.join(dir, 'data'));
  for (const u of full.units) {
    const zip = unzipSync(new Uint8Array(await fs.readFile(path.join(dir, 'data', u.files!.zip!))));
    recorded.set(
      u.key,
      await Promise.all(
        Object.keys(zip)
          .sort()
          .map((n) => rgb(zip[n]!)),
      ),
    );
  }
  await fs.cp(path.join(dir, 'data'), path.join(dir, 'full'), { recursive: true });
  const second = await runCli(['pipeline', '--config', await writeConfig(dir, yaml('compact'))]);
  assert.equal(second.code, 0, second.stderr);
  secondRun = second.stderr;
  compact = await readManifest(path.join(dir, 'data'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('media: full writes what the encoders wrote before the budget, byte for byte', async () => {
  for (const u of full.units) {
    const frames = recorded.get(u.key)!;
    const image = frames.at(-1)!;
    const read = (f: string) => fs.readFile(path.join(dir, 'full', f));
    assert.deepEqual(u.media?.tier, 'full');
    assert.ok((await read(u.files!.png)).equals(await encodePng(image, u.width, u.height)), `${u.key}: PNG`);
    assert.ok((await read(u.files!.webp)).equals(await encodeThumb(image, u.width, u.height)), `${u.key}: thumbnail`);
    assert.ok((await read(u.files!.gif)).equals(await encodeGif(frames, u.width, u.height, 80)), `${u.key}: GIF`);
    assert.ok((await read(u.files!.zip!)).equals(await encodeFramesZip(frames, u.width, u.height)), `${u.key}: frames ZIP`);
    const again = await encodeUnit({ image, frames, width: u.width, height: u.height }, 80, FULL_TIER);
    assert.ok(Buffer.from(again.gif).equals(await read(u.files!.gif)));
  }
});

test('a new tier re-encodes from the stored frames: no render, same cache keys, no stale files', async () => {
  assert.match(secondRun, /re-encoding them as "compact" from their stored frames/);
  assert.match(secondRun, /0 computed, 4 reused/);
  assert.match(secondRun, /published data: .* GIF/);
  for (const u of compact.units) {
    const before = full.units.find((f) => f.key === u.key)!;
    assert.equal(u.cacheKey, before.cacheKey);
    assert.equal(u.media?.tier, 'compact');
    assert.equal(u.files!.zip, undefined);
    assert.match(u.files!.png, /\.jpg$/);
    await assert.rejects(fs.access(path.join(dir, 'data', before.files!.zip!)), `${u.key}: the stored ZIP is still there`);
    await assert.rejects(fs.access(path.join(dir, 'data', before.files!.png)), `${u.key}: the PNG is still there`);
  }
  const sheets = compact.layers.flatMap((l) => Object.values(l.sheets).flat());
  assert.ok(sheets.length > 0 && sheets.every((s) => s.file.endsWith('.jpg')));
  for (const s of sheets) await assert.rejects(fs.access(path.join(dir, 'data', s.file.replace(/\.jpg$/, '.png'))));
});

test('each compact GIF decodes, has a non-zero delay per frame (last held), and runs from the start image to the final one within palette error', async () => {
  const gif = COMPACT.gif.encoder === 'compact' ? COMPACT.gif : assert.fail('compact tier without a compact GIF');
  for (const u of compact.units) {
    const frames = recorded.get(u.key)!;
    const file = await fs.readFile(path.join(dir, 'data', u.files!.gif));
    const meta = await sharp(file, { pages: -1 }).metadata();
    const m = u.media!;
    // As many frames as the tier asks (when recorded), fewer only where identical frames were merged.
    assert.ok(meta.pages! <= Math.min(gif.frames, frames.length) && (meta.pages === Math.min(gif.frames, frames.length) || u.flags.includes('dead')), `${u.key}: ${meta.pages} frames`);
    assert.equal(m.gif.frames.length, meta.pages);
    assert.deepEqual([meta.width, meta.pageHeight], [m.gif.width, m.gif.height]);
    assert.ok(Math.max(m.gif.width, m.gif.height) <= gif.size);
    assert.equal(m.gif.frames[0], 0);
    assert.equal(m.gif.frames.at(-1), frames.length - 1);
    assert.ok(
      meta.delay!.every((d) => d > 0),
      `${u.key}: delays ${meta.delay}`,
    );
    assert.ok(meta.delay!.at(-1)! > meta.delay![0]!, 'the last frame is not held');
    // Our browser decoder reads exactly what libvips reads.
    const mine = decodeGif(new Uint8Array(file));
    const { data } = await sharp(file, { pages: -1 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.ok(Buffer.from(mine.frames.flatMap((f) => [...f])).equals(data), `${u.key}: decodeGif differs from sharp`);
    assert.deepEqual(mine.delays, meta.delay);
    // First and last frames against the recorded start and final images, reduced to the GIF's size.
    const page = (i: number) => {
      const f = mine.frames[i]!;
      return Uint8Array.from({ length: (f.length / 4) * 3 }, (_, k) => f[Math.floor(k / 3) * 4 + (k % 3)]!);
    };
    const size: [number, number] = [m.gif.width, m.gif.height];
    const start = await rgb(await encodePng(frames[0]!, u.width, u.height), size);
    const final = await rgb(await encodePng(frames.at(-1)!, u.width, u.height), size);
    const last = page(mine.frames.length - 1);
    const e0 = meanAbs(page(0), start);
    const e1 = meanAbs(last, final);
    // Palette error: what quantizing that image alone to the tier's palette (no dither) costs; a
    // later frame may also keep earlier pixels that differ by at most interFrameMaxError.
    const paletteError = async (x: Uint8Array) =>
      meanAbs(
        await rgb(
          await sharp(x, { raw: { width: size[0], height: size[1], channels: 3 } })
            .gif({ colours: gif.colours, dither: 0, effort: 10 })
            .toBuffer(),
        ),
        x,
      );
    const slack = gif.interFrameMaxError / 4;
    assert.ok(e0 <= (await paletteError(start)) + slack, `${u.key}: first frame off by ${e0.toFixed(1)} per channel`);
    assert.ok(e1 <= (await paletteError(final)) + slack, `${u.key}: last frame off by ${e1.toFixed(1)} per channel`);
    assert.ok(e0 < meanAbs(page(0), final), `${u.key}: the first frame is closer to the final image than to the start`);
    assert.ok(e1 < meanAbs(last, start), `${u.key}: the last frame is closer to the start image than to the final`);
  }
});

test('a class image read back from its published JPEG keeps its top-1', async () => {
  const graph: LeanGraph = await sharedGraph(M025);
  try {
    const classes = compact.units.filter((u): u is ManifestUnit & { kind: 'class' } => u.kind === 'class');
    assert.ok(classes.length > 0);
    for (const u of classes) {
      const q = u.quality as { top1IsTarget: boolean };
      assert.ok(q.top1IsTarget, `${u.key}: not top-1 even as optimized (more steps?)`);
      const jpeg = await rgb(await fs.readFile(path.join(dir, 'data', u.files!.png)));
      assert.equal(jpeg.length, u.width * u.height * 3);
      const [read] = await classQuality(graph, { range: [-1, 1] }, graph.nodes[graph.nodes.length - 1]!.name, [jpeg], u.width, u.height, [u.index], [u.seed]);
      assert.ok(read!.top1IsTarget, `${u.key}: the published JPEG is classified as ${read!.top1}`);
    }
  } finally {
    graph.dispose();
  }
});

test('the store-only ZIP the browser makes is a valid ZIP of the given files', () => {
  const files = [
    { name: 'frame-000.png', data: new Uint8Array([1, 2, 3]) },
    { name: 'frame-001.png', data: new Uint8Array(70000).map((_, i) => i & 255) },
  ];
  const zip = unzipSync(storedZip(files));
  assert.deepEqual(Object.keys(zip), ['frame-000.png', 'frame-001.png']);
  for (const f of files) assert.ok(Buffer.from(zip[f.name]!).equals(Buffer.from(f.data)));
  assert.ok(Buffer.from(storedZip(files)).equals(Buffer.from(storedZip(files))));
});
