/**
 * The frames download where the media budget stores no frames ZIP (`site.media: compact`, the tier
 * the whole atlas gets at the default budget): in Chromium the "Frames (ZIP)" button builds a ZIP of
 * the published GIF's frames as numbered PNGs, exactly those frames, named as the LaTeX snippet
 * says; without JavaScript the page gives the GIF and the ImageMagick line instead.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { frameName } from '../pipeline/output/frame-names.ts';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { launchChromium } from './support/browser.ts';
import { BASE, buildSite, runPipeline, tempDir } from './support/atlas-site.ts';
import { serveStatic } from './support/serve.ts';

let dir: string;
let manifest: Manifest;
let server: { url: string; close: () => Promise<void> };
let browser: Browser;

before(async () => {
  dir = await tempDir('fa-frames-');
  const config = await runPipeline(dir, { layers: { conv_pw_2_relu: [0, 1] }, classes: [141], media: 'compact' });
  manifest = JSON.parse(await fs.readFile(path.join(dir, 'data', 'manifest.json'), 'utf8')) as Manifest;
  const dist = path.join(dir, 'dist');
  await buildSite(config, dist);
  server = await serveStatic(dist, BASE);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('"Frames (ZIP)" makes the GIF\'s frames as numbered PNGs in the browser, matching the animate snippet', async () => {
  const unit = manifest.units.find((u) => u.kind === 'filter' && u.index === 0)!;
  assert.equal(unit.media?.zip, 'browser');
  assert.equal(unit.files!.zip, undefined);
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const res = await page.goto(`${server.url}layers/conv_pw_2_relu/0/`, { waitUntil: 'load' });
  assert.equal(res?.status(), 200);
  const button = page.getByRole('button', { name: 'Frames (ZIP)' });
  assert.equal(await button.count(), 1);
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), 'mobilenet_v1_0_25_224-conv_pw_2_relu-0-lecture.zip');
  const file = path.join(dir, 'frames.zip');
  await download.saveAs(file);
  const entries = unzipSync(new Uint8Array(await fs.readFile(file)));
  const names = Object.keys(entries);
  const count = unit.media!.gif.frames.length;
  assert.ok(count > 1, 'a unit whose GIF moves');
  assert.deepEqual(
    names,
    Array.from({ length: count }, (_, i) => frameName(i, count)),
  );
  // Each PNG is the GIF's frame as a viewer shows it.
  const gif = await fs.readFile(path.join(dir, 'data', unit.files!.gif));
  const { data, info } = await sharp(gif, { pages: -1 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const size = info.width * (info.pageHeight ?? info.height) * 3;
  for (const [i, name] of names.entries()) {
    const png = await sharp(entries[name]!).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([png.info.width, png.info.height], [unit.media!.gif.width, unit.media!.gif.height]);
    assert.ok(png.data.equals(data.subarray(i * size, (i + 1) * size)), `${name} differs from GIF frame ${i}`);
  }
  // The LaTeX animate snippet counts the same frames.
  const snippet = await page.locator('pre#lecture-anim').textContent();
  assert.ok(snippet?.includes(`frame-}{${frameName(0, count).slice(6, -4)}}{${frameName(count - 1, count).slice(6, -4)}}`), snippet ?? '');
  await context.close();
});

test('without JavaScript the page says how to get the frames from the GIF', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}layers/conv_pw_2_relu/0/`, { waitUntil: 'load' });
  assert.equal(await page.getByRole('button', { name: 'Frames (ZIP)' }).isVisible(), false);
  const text = (await page.locator('li.frames-browser').innerText()).replace(/\s+/g, ' ');
  assert.match(text, /needs JavaScript/);
  assert.match(text, /magick mobilenet_v1_0_25_224-conv_pw_2_relu-0-lecture\.gif -coalesce mobilenet_v1_0_25_224-conv_pw_2_relu-0-lecture\/frame-%03d\.png/);
  assert.ok(await page.getByRole('link', { name: 'GIF' }).count());
  await context.close();
});
