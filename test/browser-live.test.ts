/**
 * The live page in headless Chromium on a small real atlas (MobileNet v1 0.25, 64 px, rendered by
 * the pipeline on TF.js wasm, served under a base path): a published unit from its page's "Render
 * live" link reproduces its PNG and objectives; an unrendered filter (from the model map) and an
 * unrendered class (from search) render; Stop stops; bad queries are refused as text and run
 * nothing; no weights are requested before Start; WebGL through SwiftShader where it starts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readManifest, type Manifest } from '../pipeline/output/manifest.ts';
import { launchChromium } from './support/browser.ts';
import { BASE, ROOT, buildSite, runPipeline, tempDir } from './support/atlas-site.ts';
import { correlation, liveReport, resultPixels, spread } from './support/live.ts';
import { serveStatic } from './support/serve.ts';

let dir: string;
let manifest: Manifest;
let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let context: BrowserContext;

before(async () => {
  dir = await tempDir('fa-live-');
  const config = await runPipeline(dir, { layers: { conv_pw_2_relu: [1], conv_pw_5_relu: [7] }, classes: [1], backend: 'wasm', dataset: path.join(ROOT, 'photos') });
  manifest = await readManifest(path.join(dir, 'data'));
  await buildSite(config, path.join(dir, 'dist'));
  server = await serveStatic(path.join(dir, 'dist'), BASE);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});
after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A page with a log of the model files and wasm binaries it requests. */
async function openLogged(rel: string): Promise<{ page: Page; heavy: string[] }> {
  const page = await context.newPage();
  const heavy: string[] = [];
  page.on('request', (r) => {
    if (/\/live\/(graph\.json|weights-\d+\.bin)$|\.wasm$/.test(new URL(r.url()).pathname)) heavy.push(r.url());
  });
  await page.goto(`${server.url}${rel}`, { waitUntil: 'load' });
  return { page, heavy };
}

test('the manifest names the live files once per model, and the site publishes them', async () => {
  const live = manifest.live;
  assert.ok(live && 'graph' in live, `no live files: ${JSON.stringify(live)}`);
  for (const f of live.files) assert.ok((await fs.stat(path.join(dir, 'dist', 'data', f))).size > 0, f);
  assert.ok((await fs.readdir(path.join(dir, 'dist', 'live', 'wasm'))).some((f) => f.endsWith('.wasm')));
});

test('a published lecture unit, opened from its page\'s "Render live" link, gives its PNG and its objectives', async () => {
  const unit = manifest.units.find((u) => u.kind === 'filter' && u.layer === 'conv_pw_5_relu' && u.index === 7)!;
  const { page: unitPage } = await openLogged('layers/conv_pw_5_relu/7/');
  const link = await unitPage.locator('a[data-live-link]').first().getAttribute('href');
  await unitPage.close();
  assert.ok(link?.includes(`seed=${unit.seed}`), `the link carries the unit's seed: ${link}`);
  const { page } = await openLogged(`${link!.slice(BASE.length)}&backend=wasm&autorun=1`);
  const report = await liveReport(page);
  assert.equal(report.state, 'done', report.message);
  assert.equal(report.backend, 'wasm');
  assert.ok(report.stepsPerSec! > 0);
  const live = await resultPixels(page);
  const png = await sharp(path.join(dir, 'data', unit.files!.png))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([live.width, live.height], [png.info.width, png.info.height]);
  const r = correlation(live.rgb, new Uint8Array(png.data));
  assert.ok(r >= 0.99, `pixel correlation ${r}`);
  assert.ok(Math.abs(report.startObjective! - unit.startObjective) <= 0.01 * Math.abs(unit.startObjective), `start ${report.startObjective} vs ${unit.startObjective}`);
  assert.ok(Math.abs(report.objective! - unit.finalObjective) <= 0.01 * Math.abs(unit.finalObjective), `final ${report.objective} vs ${unit.finalObjective}`);
  assert.equal(report.rank, (unit.quality as { rank: number }).rank, "the quality numbers are the pipeline's");
  await page.close();
});

test('nothing runs and no weights are requested before Start; the model map opens any filter of a layer nobody rendered', async () => {
  const { page, heavy } = await openLogged('');
  await page.locator('.model-map summary').click();
  const pick = page.locator('.model-map form.live-pick', { has: page.locator('input[value="conv_pw_7_relu"]') });
  await pick.locator('input[name="filter"]').fill('100');
  await Promise.all([page.waitForURL(/\/live\/\?layer=conv_pw_7_relu&filter=100$/), pick.locator('button').click()]);
  await page.waitForLoadState('networkidle');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.live), 'ready');
  assert.equal(heavy.length, 0, `no model file or wasm binary before Start: ${heavy.join(', ')}`);
  await page.goto(`${page.url()}&steps=6&backend=wasm`);
  await page.locator('#live-start').click();
  const report = await liveReport(page);
  assert.equal(report.state, 'done', report.message);
  assert.ok(report.objective! > report.startObjective!, `objective ${report.startObjective} → ${report.objective}`);
  assert.ok(spread((await resultPixels(page)).rgb) > 1, 'the image is not flat');
  assert.ok(heavy.some((u) => u.endsWith('/graph.json')) && heavy.some((u) => /weights-0\.bin$/.test(u)), `requested after Start: ${heavy.join(', ')}`);
  await page.close();
});

test('search offers a class nobody rendered; it renders live with the quality numbers of a class page', async () => {
  const { page } = await openLogged('search/');
  await page.locator('#q').fill('tench');
  const hit = page.locator('#results li a').first();
  await hit.waitFor();
  const href = await hit.getAttribute('href');
  assert.equal(href, `${BASE}live/?class=0`);
  await page.goto(`${server.url}live/?class=0&method=lecture&steps=8&backend=wasm&autorun=1`);
  const report = await liveReport(page);
  assert.equal(report.state, 'done', report.message);
  assert.ok(report.objective! > report.startObjective!);
  assert.ok(Number.isInteger(report.top1) && report.top1! >= 0 && report.top1! < 1000, `the model's top-1 on the live image: ${report.top1}`);
  assert.match(await page.locator('#live-quality').innerText(), /top-1 on the optimized image/);
  await page.close();
});

test('a start photo from the dataset: the lecture render starts from it', async () => {
  const photo = manifest.units.flatMap((u) => u.examples ?? [])[0]!.source;
  const { page } = await openLogged(`live/?layer=conv_pw_2_relu&filter=1&steps=1&photo=${encodeURIComponent(photo)}&backend=wasm&autorun=1`);
  const report = await liveReport(page);
  assert.equal(report.state, 'done', report.message);
  const { page: noise } = await openLogged('live/?layer=conv_pw_2_relu&filter=1&steps=1&backend=wasm&autorun=1');
  await liveReport(noise);
  const r = correlation((await resultPixels(page)).rgb, (await resultPixels(noise)).rgb);
  assert.ok(r < 0.5, `the photo start and the noise start give different images (correlation ${r})`);
  const settings = await page.locator('#live-settings').textContent();
  assert.ok(settings?.includes(`"photo": ${JSON.stringify(photo)}`), `the render's settings name the photo: ${settings}`);
  await page.close();
  await noise.close();
});

test('Stop stops the render, which ends on its last step', async () => {
  const { page } = await openLogged('live/?layer=conv_pw_5_relu&filter=3&steps=10000&backend=wasm&autorun=1');
  await page.waitForFunction(() => /^[3-9]|^\d\d/.test(document.getElementById('live-step')?.textContent ?? ''));
  await page.locator('#live-stop').click();
  const report = await liveReport(page);
  assert.equal(report.state, 'stopped', report.message);
  const step = Number((await page.locator('#live-step').innerText()).split(' ')[0]);
  assert.ok(step >= 3 && step < 10000, `stopped at step ${step}`);
  assert.ok(Number.isFinite(report.objective));
  await page.close();
});

test('bad query values: a clear message, shown as text, and nothing runs', async () => {
  const cases: [string, RegExp][] = [
    ['layer=conv_pw_5_rleu&filter=1', /layer="conv_pw_5_rleu" is not a layer of this model \(did you mean conv_pw_5_relu\?\)/],
    ['layer=conv_pw_5_relu&filter=9999', /filter=9999 is out of range: conv_pw_5_relu has filters 0 to 63/],
    ['layer=conv_pw_5_relu&filter=1&steps=0', /steps=0 is out of range/],
    ['class=1&backend=cuda', /backend="cuda" is not one of webgpu, webgl, wasm/],
    ['layer=<img src=x onerror="document.title=1">&filter=1&autorun=1', /layer="<img src=x onerror=\\"document.title=1\\">" is not a layer/],
  ];
  for (const [query, message] of cases) {
    const { page, heavy } = await openLogged(`live/?${query}`);
    const report = await liveReport(page);
    assert.equal(report.state, 'invalid', query);
    assert.match(report.message, message, query);
    assert.equal(await page.locator('#live-message *').count(), 0, 'the message is text, not markup');
    assert.ok(await page.locator('#live-start').isDisabled(), 'no Start');
    await page.waitForLoadState('networkidle');
    assert.deepEqual(heavy, [], `${query}: nothing loaded`);
    await page.close();
  }
});

test('WebGL (SwiftShader in headless Chromium), where it starts, renders an unrendered filter', async (t) => {
  const { page } = await openLogged('live/?layer=conv_pw_7_relu&filter=100&steps=3&backend=webgl&autorun=1');
  const report = await liveReport(page);
  if (report.state === 'failed' && /webgl/.test(report.message) && /did not start|no backend started/.test(report.message)) {
    t.skip(`WebGL does not start here: ${report.message}`);
    return;
  }
  assert.equal(report.state, 'done', report.message);
  assert.equal(report.backend, 'webgl');
  assert.ok(report.objective! > report.startObjective!);
  await page.close();
});
