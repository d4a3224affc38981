/**
 * The frames ZIP: numbered PNGs that decode to exactly the frames given, deterministic bytes; and
 * the build-time fallback that makes it from a real pipeline GIF.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { encodeFramesZip, frameName } from '../pipeline/output/frames-zip.ts';
import { encodeGif } from '../pipeline/output/images.ts';
import { readManifest } from '../pipeline/output/manifest.ts';
import { ensureFrameZips, gifFrames } from '../src/integrations/frames-zip.ts';
import { runPipeline, tempDir } from './support/atlas-site.ts';

async function decode(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Distinct frames: a gradient that moves with the frame number. */
function frames(count: number, width: number, height: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const f = new Uint8Array(width * height * 3);
    for (let i = 0; i < f.length; i++) f[i] = (i * 7 + k * 31) & 255;
    return f;
  });
}

test('encodeFramesZip: numbered PNGs that decode to the frames, same bytes every time', async () => {
  const input = frames(12, 19, 11);
  const zip = await encodeFramesZip(input, 19, 11);
  const entries = unzipSync(new Uint8Array(zip));
  const names = Object.keys(entries);
  assert.deepEqual(
    names,
    input.map((_, i) => frameName(i, input.length)),
  );
  assert.equal(names[0], 'frame-000.png');
  assert.equal(names[11], 'frame-011.png');
  for (const [i, name] of names.entries()) {
    const png = await decode(entries[name]!);
    assert.equal(png.width, 19);
    assert.equal(png.height, 11);
    assert.ok(Buffer.from(input[i]!).equals(png.data), `${name} differs from frame ${i}`);
  }
  assert.ok(zip.equals(await encodeFramesZip(input, 19, 11)), 'not deterministic');
});

test('encodeFramesZip: 1000+ frames get 4 digits; bad input is refused', async () => {
  assert.equal(frameName(5, 1001), 'frame-0005.png');
  await assert.rejects(encodeFramesZip([], 4, 4), /no frames/);
  await assert.rejects(encodeFramesZip([new Uint8Array(10)], 4, 4), /frame 0 has 10 bytes/);
});

let dir: string;
before(async () => {
  dir = await tempDir('fa-zip-');
  await runPipeline(dir, { layers: { conv_pw_2_relu: [0, 1] }, classes: [] });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('build-time fallback: a ZIP made from each unit GIF holds its frames, cached on rebuild', async () => {
  const data = path.join(dir, 'data');
  const manifest = await readManifest(data);
  // As an atlas from before the pipeline wrote ZIPs: no ZIP files, units name none.
  const units = manifest.units.filter((u) => u.files).map((u) => ({ ...u, files: { png: u.files!.png, webp: u.files!.webp, gif: u.files!.gif } }));
  for (const u of manifest.units) if (u.files?.zip) await fs.rm(path.join(data, u.files.zip));
  assert.ok(units.length >= 2);
  const out = path.join(dir, 'out');
  const cache = path.join(dir, 'cache');
  assert.deepEqual(await ensureFrameZips(units, data, out, cache), { made: units.length, cached: 0 });
  for (const u of units) {
    const zip = unzipSync(new Uint8Array(await fs.readFile(path.join(out, u.files!.png.replace(/\.png$/, '.zip')))));
    const names = Object.keys(zip);
    assert.equal(names.length, u.frames, `${u.key}: ${names.length} PNGs for ${u.frames} frames`);
    const gif = await gifFrames(path.join(data, u.files!.gif));
    const last = await decode(zip[names.at(-1)!]!);
    assert.deepEqual([last.width, last.height], [u.width, u.height]);
    assert.ok(Buffer.from(gif.frames.at(-1)!).equals(last.data));
  }
  await fs.rm(out, { recursive: true });
  assert.deepEqual(await ensureFrameZips(units, data, out, cache), { made: 0, cached: units.length });
});

test('gifFrames restores the frames the GIF encoder merged (identical consecutive frames, delays summed)', async () => {
  const [a, b] = frames(2, 16, 8);
  const sequence = [a!, b!, b!, b!, a!, a!];
  const file = path.join(dir, 'merged.gif');
  await fs.writeFile(file, await encodeGif(sequence, 16, 8, 80));
  const pages = (await sharp(file, { pages: -1 }).metadata()).pages;
  assert.ok(pages! < sequence.length, `the encoder merged repeats (${pages} pages for ${sequence.length} frames)`);
  const { frames: got } = await gifFrames(file, sequence.length);
  assert.equal(got.length, sequence.length);
  // Palette error aside, each restored frame is its original (a and b differ a lot).
  const near = (x: Uint8Array, y: Uint8Array) => x.every((v, i) => Math.abs(v - y[i]!) <= 24);
  got.forEach((f, i) => assert.ok(near(f, sequence[i]!), `frame ${i}`));
});
