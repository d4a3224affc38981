/**
 * The live page's acceptance checks on a built atlas (`npm run bench:live-check -- [--dist dist]
 * [--data atlas-data]`, after `npm run build:atlas` on the default config), in headless Chromium:
 *
 * 1. a published lecture unit (conv_pw_5_relu filter 3) from its unit page's own "Render live" link
 *    with autorun=1: pixel correlation with the published PNG and the final objectives;
 * 2. a filter of a layer the atlas did not render (conv_pw_7_relu 100): the objective rises, the
 *    image is not flat;
 * 3. a class the atlas did not render (309, bee) with lucid at 128 steps: its top-1 on the live image;
 * 4. no request for the model's files before the render starts (unit page and live page at rest);
 * 5. the in-browser wasm rate beside the pipeline's (bench/live.ts measures that in full).
 *
 * A meta row (bench/meta.ts), then one JSON line per check on stdout; exit 1 when a check fails.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { chromium, type Page } from 'playwright-core';
import { readManifest } from '../pipeline/output/manifest.ts';
import { benchMeta } from './meta.ts';
import { pages } from '../pipeline/output/paths.ts';
import { CHROMIUM } from '../test/support/browser.ts';
import { correlation, liveReport, resultPixels, spread } from '../test/support/live.ts';
import { serveStatic } from '../test/support/serve.ts';

const { values: args } = parseArgs({ options: { dist: { type: 'string', default: 'dist' }, data: { type: 'string', default: 'atlas-data' }, note: { type: 'string' } } });
console.log(JSON.stringify(benchMeta('bench:live-check', process.argv.slice(2))));
const manifest = await readManifest(args.data!);
const server = await serveStatic(path.resolve(args.dist!), manifest.site.base);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
let failed = 0;
const report = (check: string, ok: boolean, numbers: Record<string, unknown>) => {
  if (!ok) failed++;
  console.log(JSON.stringify({ kind: 'live-check', check, ok, ...numbers }));
};
/** Requests for the model's live files or TF.js's wasm, as the page makes them. */
const modelRequests = (page: Page): string[] => {
  const seen: string[] = [];
  page.on('request', (r) => {
    if (/\/live\/(graph\.json|weights-\d+\.bin|wasm\/)/.test(r.url())) seen.push(r.url());
  });
  return seen;
};

try {
  const unit = manifest.units.find((u) => u.key === 'lecture/filter/conv_pw_5_relu/3')!;
  const page = await browser.newPage();
  const early = modelRequests(page);
  await page.goto(`${server.url}${pages.filter(unit.layer, unit.index).replace(/^\//, '')}`);
  const href = await page.getAttribute('a[href*="live/?"]', 'href');
  await page.waitForTimeout(1000);
  report('no model request on the unit page at rest', early.length === 0, { requests: early.length });
  await page.goto(new URL(`${href!}&autorun=1`, page.url()).toString());
  const r1 = await liveReport(page);
  const live = await resultPixels(page);
  const published = await sharp(path.join(args.data!, unit.files!.png)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const corr = correlation(live.rgb, new Uint8Array(published.data));
  const objectiveGap = Math.abs(r1.objective! - unit.finalObjective) / Math.abs(unit.finalObjective);
  report('published unit from its page link', r1.state === 'done' && corr >= 0.95 && objectiveGap <= 0.05, {
    unit: unit.key,
    backend: r1.backend,
    correlation: Number(corr.toFixed(4)),
    liveObjective: r1.objective,
    publishedObjective: unit.finalObjective,
    objectiveGap: Number(objectiveGap.toFixed(4)),
    stepsPerSec: r1.stepsPerSec,
  });

  const p2 = await browser.newPage();
  const rest = modelRequests(p2);
  await p2.goto(`${server.url}live/?layer=conv_pw_7_relu&filter=100&method=lecture`);
  await p2.waitForTimeout(1000);
  report('no model request on the live page before Start', rest.length === 0, { requests: rest.length });
  await p2.goto(`${server.url}live/?layer=conv_pw_7_relu&filter=100&method=lecture&autorun=1`);
  const r2 = await liveReport(p2);
  const img2 = await resultPixels(p2);
  report('unrendered filter conv_pw_7_relu 100', r2.state === 'done' && r2.objective! > r2.startObjective! && spread(img2.rgb) > 1, {
    startObjective: r2.startObjective,
    objective: r2.objective,
    spread: Number(spread(img2.rgb).toFixed(2)),
    stepsPerSec: r2.stepsPerSec,
  });

  const p3 = await browser.newPage();
  await p3.goto(`${server.url}live/?class=309&method=lucid&steps=128&autorun=1`);
  const r3 = await liveReport(p3, 1_800_000);
  report('unrendered class 309 with lucid, 128 steps', r3.state === 'done' && r3.top1 === 309, { top1: r3.top1, objective: r3.objective, stepsPerSec: r3.stepsPerSec, message: r3.message });
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
