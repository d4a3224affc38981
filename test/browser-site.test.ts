/**
 * The built site in Chromium (playwright-core + Debian's chromium), served under a non-root base
 * path like a GitHub Pages project site: reachability, broken links and images, search, snippets,
 * keys, no-JS reading, axe-core, 360-px layout, the optimization (play/pause, frame slider), the
 * model map, labels of unrendered classes, screenshots (test-results/screens/).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Manifest } from '../pipeline/output/manifest.ts';
import { launchChromium } from './support/browser.ts';
import { BASE, ROOT, SITE_URL, addLabelsAndModelMap, buildSite, builtPages, runPipeline, tempDir } from './support/atlas-site.ts';
import { serveStatic } from './support/serve.ts';

const SCREENS = path.join(ROOT, 'test-results', 'screens');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

let dir: string;
let dist: string;
let manifest: Manifest;
let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let context: BrowserContext;

before(async () => {
  dir = await tempDir('fa-browser-');
  const config = await runPipeline(dir, { dataset: path.join(ROOT, 'photos') });
  manifest = await addLabelsAndModelMap(path.join(dir, 'data'));
  dist = path.join(dir, 'dist');
  await buildSite(config, dist);
  server = await serveStatic(dist, BASE);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});
after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The local URL of a page path or of an absolute URL on the configured site. */
function local(url: string): string {
  const public_ = `${SITE_URL}${BASE}`;
  return url.startsWith(public_) ? server.url + url.slice(public_.length) : url;
}
const pageUrl = (rel: string) => `${server.url}${rel}`;

async function open(rel: string, ctx = context): Promise<Page> {
  const page = await ctx.newPage();
  const res = await page.goto(pageUrl(rel), { waitUntil: 'load' });
  assert.equal(res?.status(), 200, rel);
  return page;
}

const unitFile = (layer: string, index: number) => manifest.units.find((u) => u.kind === 'filter' && u.layer === layer && u.index === index)!.files!;

test('every page is reachable from home by links, and no link, image or meta URL is broken', async () => {
  const page = await context.newPage();
  const seen = new Set<string>([server.url]);
  const queue = [server.url];
  const pagesVisited: string[] = [];
  const checked = new Map<string, number>();
  const broken: string[] = [];
  const external: string[] = [];
  while (queue.length > 0) {
    const url = queue.shift()!;
    const res = await page.goto(url, { waitUntil: 'load' });
    if (res?.status() !== 200) {
      broken.push(`${url}: ${res?.status()}`);
      continue;
    }
    pagesVisited.push(url.slice(server.url.length).split('?')[0]!);
    const found = await page.evaluate(() => {
      const out: { url: string; kind: string }[] = [];
      document.querySelectorAll('a[href]').forEach((a) => out.push({ url: (a as HTMLAnchorElement).href, kind: 'a' }));
      document.querySelectorAll('img[src]').forEach((i) => out.push({ url: (i as HTMLImageElement).src, kind: 'img' }));
      document.querySelectorAll('link[href]').forEach((l) => out.push({ url: (l as HTMLLinkElement).href, kind: 'link' }));
      document.querySelectorAll('script[src]').forEach((s) => out.push({ url: (s as HTMLScriptElement).src, kind: 'script' }));
      document.querySelectorAll('meta[property="og:image"], meta[name="twitter:image"], meta[property="og:url"]').forEach((m) => out.push({ url: (m as HTMLMetaElement).content, kind: 'meta' }));
      // Eager images that the browser failed to decode.
      document.querySelectorAll('img:not([loading="lazy"])').forEach((i) => {
        const img = i as HTMLImageElement;
        if (img.complete && img.naturalWidth === 0) out.push({ url: img.src, kind: 'undecodable' });
      });
      return out;
    });
    for (const f of found) {
      if (f.kind === 'undecodable') broken.push(`${url}: image did not decode: ${f.url}`);
      const target = local(f.url.split('#')[0]!);
      if (!target.startsWith(server.url)) {
        external.push(`${url} → ${f.url}`);
        continue;
      }
      if (!checked.has(target)) {
        const r = await fetch(target);
        checked.set(target, r.status);
        const type = r.headers.get('content-type') ?? '';
        if (r.status !== 200) broken.push(`${url} → ${f.url}: ${r.status}`);
        else if (f.kind === 'img' && !type.startsWith('image/')) broken.push(`${url} → ${f.url}: ${type}`);
        // A page is visited once, whatever its query (the live page is linked with each unit's settings).
        else if (f.kind === 'a' && type.startsWith('text/html') && !seen.has(target.split('?')[0]!)) {
          seen.add(target.split('?')[0]!);
          queue.push(target);
        }
        await r.arrayBuffer();
      }
    }
  }
  await page.close();
  assert.deepEqual(broken, []);
  assert.deepEqual(external, [], 'links leave the site');
  const built = (await builtPages(dist)).filter((p) => p !== '404.html');
  assert.deepEqual(pagesVisited.sort(), built, 'pages not reachable from home');
  // Downloads of every unit were among the checked URLs (PNG, GIF, frames ZIP).
  for (const u of manifest.units.filter((x) => x.files)) {
    for (const ext of ['png', 'gif', 'zip']) {
      const url = `${server.url}data/${u.files!.png.replace(/\.png$/, `.${ext}`)}`;
      assert.equal(checked.get(url), 200, `${u.key}: ${ext} not linked or broken`);
    }
  }
  // The sitemap lists exactly the pages (not the 404).
  const sitemap = await (await fetch(pageUrl('sitemap-0.xml'))).text();
  const locs = [...sitemap.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => local(m[1]!).slice(server.url.length)).sort();
  assert.deepEqual(locs, built);
});

test('a missing page answers with the 404 page, which links home', async () => {
  const page = await context.newPage();
  const res = await page.goto(pageUrl('layers/no-such-layer/3/'));
  assert.equal(res?.status(), 404);
  assert.match(await page.locator('h1').innerText(), /Not found/);
  await page.getByRole('link', { name: 'Back to the layers' }).click();
  await page.waitForURL(server.url);
  await page.close();
});

test('search finds a class by name (from the header form) and a filter by layer and index', async () => {
  const page = await open('');
  const goldfish = manifest.classes.find((c) => /goldfish/i.test(c.label))!;
  await page.getByRole('searchbox', { name: /Search layers/ }).fill('Goldfish');
  await page.getByRole('searchbox', { name: /Search layers/ }).press('Enter');
  await page.waitForURL(/search\/\?q=Goldfish/);
  const hit = page.locator('#results a').first();
  await hit.waitFor();
  assert.equal(await hit.innerText(), `${goldfish.id} ${goldfish.label}`);
  await hit.click();
  await page.waitForURL(pageUrl(`classes/${goldfish.id}/`));
  assert.match(await page.locator('h1').innerText(), /goldfish/i);

  await page.goto(pageUrl('search/?q=conv_pw_5 7'));
  const filter = page.locator('#results a').first();
  await filter.waitFor();
  assert.equal(await filter.innerText(), 'conv_pw_5_relu filter 7');
  assert.equal(await filter.getAttribute('href'), `${BASE}layers/conv_pw_5_relu/7/`);
  await page.locator('#q').fill('no such thing at all');
  await page.getByText('Nothing found').waitFor();
  await page.close();
});

test('a unit page: snippets hold the absolute image URL, copy button copies, downloads are named, og:image set', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await open('layers/conv_pw_5_relu/7/', ctx);
  const png = `${SITE_URL}${BASE}data/${unitFile('conv_pw_5_relu', 7).png}`;
  const snippets = await page.locator('pre.snippet').allInnerTexts();
  assert.equal(snippets.length, 4);
  for (const s of snippets.slice(0, 3)) assert.ok(s.includes(png), `snippet without ${png}:\n${s}`);
  assert.ok(snippets[0]!.startsWith('![') && snippets[1]!.startsWith('<img src="') && snippets[2]!.includes('\\includegraphics'));
  assert.ok(snippets[3]!.includes('\\animategraphics') && snippets[3]!.includes(png.replace(/\.png$/, '.zip')));
  assert.equal(await page.locator('meta[property="og:image"]').getAttribute('content'), png);
  const button = page.getByRole('button', { name: 'Copy' }).first();
  await button.click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippets[0]);
  const zip = page.getByRole('link', { name: 'Frames (ZIP)' });
  assert.equal(await zip.getAttribute('download'), 'mobilenet_v1_0_25_224-conv_pw_5_relu-7-lecture.zip');
  await ctx.close();
});

test('unit pages: ← and → follow previous/next; breadcrumbs go model → layer → unit', async () => {
  const page = await open('layers/conv_pw_2_relu/1/');
  const crumbs = await page.locator('nav.crumbs li').allInnerTexts();
  assert.deepEqual(crumbs, [manifest.model.id, 'conv_pw_2_relu', 'filter 1']);
  await page.keyboard.press('ArrowRight');
  await page.waitForURL(pageUrl('layers/conv_pw_2_relu/2/'));
  await page.keyboard.press('ArrowLeft');
  await page.waitForURL(pageUrl('layers/conv_pw_2_relu/1/'));
  // Keys typed into the search box do not navigate.
  await page.locator('#site-q').focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(200);
  assert.equal(page.url(), pageUrl('layers/conv_pw_2_relu/1/'));
  await page.close();
});

test('without JavaScript: snippets are selectable text, copy buttons hidden, pager links work', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  const page = await open('classes/141/', ctx);
  assert.equal(await page.locator('pre.snippet').count(), 4);
  assert.ok((await page.locator('pre.snippet').first().innerText()).includes(`${SITE_URL}${BASE}data/`));
  assert.equal(await page.getByRole('button', { name: 'Copy' }).count(), 0);
  const next = page.locator('a[rel="next"]');
  await next.click();
  await page.waitForURL(/classes\/\d+\/$/);
  assert.notEqual(page.url(), pageUrl('classes/141/'));
  await ctx.close();
});

test('keyboard: Tab reaches every link, button and field of a unit page and a layer page', async () => {
  for (const rel of ['layers/conv_pw_2_relu/0/', 'layers/conv_pw_2_relu/']) {
    const page = await open(rel);
    const total = await page.evaluate(() => {
      // What Tab should reach: visible controls (not those of a hidden tab panel), one stop per radio group (its checked radio).
      const stops = [...document.querySelectorAll('a[href], button:not([hidden]), input, pre[tabindex]')].filter(
        (el) => el.checkVisibility() && !(el instanceof HTMLInputElement && el.type === 'radio' && !el.checked),
      );
      stops.forEach((el, i) => el.setAttribute('data-k', String(i)));
      return document.querySelectorAll('[data-k]').length;
    });
    assert.ok(total > 5, `${rel}: only ${total} controls found`);
    const reached = new Set<string>();
    for (let i = 0; i < total + 5; i++) {
      await page.keyboard.press('Tab');
      const k = await page.evaluate(() => document.activeElement?.getAttribute('data-k') ?? null);
      if (k !== null) reached.add(k);
    }
    assert.equal(reached.size, total, `${rel}: ${reached.size} of ${total} reachable`);
    await page.close();
  }
});

test('dataset examples: filter and class pages show the top 9 photos, patches and attributions without script', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  for (const rel of ['layers/conv_pw_2_relu/0/', 'classes/967/']) {
    const page = await open(rel, ctx);
    const section = page.locator('section.dataset');
    assert.equal(await section.locator('h2').textContent(), 'Real photos that excite it', rel);
    assert.equal(await section.locator('ol.examples > li').count(), 9, rel);
    const credits = await section.locator('.credit').allTextContents();
    assert.equal(credits.filter((c) => c.trim()).length, 9, `${rel}: every photo credited`);
    assert.equal(await section.locator('img.patch').count(), rel.startsWith('layers') ? 9 : 0, rel);
    await page.close();
  }
  await ctx.close();
});

test('axe-core: no serious or critical violation, light and dark', async () => {
  const axe = await fs.readFile(AXE, 'utf8');
  const problems: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 800 } });
    for (const rel of ['', 'layers/conv_pw_2_relu/', 'layers/conv_pw_2_relu/0/', 'classes/', 'classes/141/', 'search/?q=e', '404.html']) {
      const page = await ctx.newPage();
      await page.goto(pageUrl(rel), { waitUntil: 'load' });
      if (rel.startsWith('search')) await page.locator('#results a').first().waitFor();
      await page.addScriptTag({ content: axe });
      const violations = await page.evaluate(async () => {
        const r = await (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run(document, {
          resultTypes: ['violations'],
        });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
      });
      for (const v of violations) if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${scheme} /${rel}: ${v.id} (${v.impact}) at ${v.nodes.join(', ')}`);
      await page.close();
    }
    await ctx.close();
  }
  assert.deepEqual(problems, []);
});

test('readable at 360 px (no sideways scrolling) and at 1280 px; screenshots saved', async () => {
  await fs.mkdir(SCREENS, { recursive: true });
  for (const width of [360, 1280]) {
    const ctx = await browser.newContext({ viewport: { width, height: 800 } });
    for (const [name, rel] of [
      ['home', ''],
      ['layer', 'layers/conv_pw_2_relu/'],
      ['unit', 'layers/conv_pw_5_relu/7/'],
    ] as const) {
      const page = await open(rel, ctx);
      const { scrollWidth, wide } = await page.evaluate(
        (w) => ({
          scrollWidth: document.documentElement.scrollWidth,
          wide: (() => {
            const out: string[] = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              const r = document.createRange();
              r.selectNodeContents(n);
              const right = r.getBoundingClientRect().right;
              if (right > w + 0.5) out.push(`"${(n.textContent ?? '').trim().slice(0, 40)}" in ${n.parentElement?.tagName.toLowerCase()}: ${Math.round(right)}px`);
            }
            return out;
          })(),
        }),
        width,
      );
      assert.ok(scrollWidth <= width, `${name} at ${width}px is ${scrollWidth}px wide: ${wide.join(', ')}`);
      const file = path.join(SCREENS, `${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      assert.ok((await fs.stat(file)).size > 1000);
      await page.close();
    }
    await ctx.close();
  }
  // Dark mode (prefers-color-scheme) at phone width.
  const dark = await browser.newContext({ viewport: { width: 360, height: 800 }, colorScheme: 'dark' });
  const page = await open('layers/conv_pw_5_relu/7/', dark);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(251, 251, 250)', 'dark mode keeps the light background');
  await page.screenshot({ path: path.join(SCREENS, 'unit-360-dark.png'), fullPage: true });
  await dark.close();
});

test('the optimization plays only on request: still first, Play swaps in the GIF, Pause swaps back; none with reduced motion', async () => {
  for (const reducedMotion of ['no-preference', 'reduce'] as const) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion });
    const page = await ctx.newPage();
    const gifs: string[] = [];
    page.on('request', (r) => r.url().endsWith('.gif') && gifs.push(r.url()));
    await page.goto(pageUrl('layers/conv_pw_5_relu/7/'), { waitUntil: 'load' });
    assert.deepEqual(gifs, [], `${reducedMotion}: a GIF loaded before anyone asked`);
    const img = page.locator('figure.anim img').first();
    const png = unitFile('conv_pw_5_relu', 7).png;
    assert.ok((await img.getAttribute('src'))!.endsWith(png));
    await page.getByRole('button', { name: 'Play the optimization' }).first().click();
    assert.ok((await img.getAttribute('src'))!.endsWith(png.replace(/\.png$/, '.gif')));
    assert.match((await img.getAttribute('alt'))!, /^Evolution of/);
    await page.getByRole('button', { name: 'Pause' }).click();
    assert.ok((await img.getAttribute('src'))!.endsWith(png));
    await ctx.close();
  }
  // Without JavaScript the control is a link to the GIF.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const page = await noJs.newPage();
  await page.goto(pageUrl('layers/conv_pw_5_relu/7/'));
  assert.ok((await page.getByRole('link', { name: 'Play the optimization' }).first().getAttribute('href'))!.endsWith('.gif'));
  assert.equal(await page.locator('.stepper').first().isVisible(), false, 'no slider without JavaScript');
  assert.equal(await page.locator('.pager .keys').isVisible(), false, 'no key hint without JavaScript');
  await noJs.close();
});

test('frame slider: arrow keys and the mouse over the curve step through the frames, the curve point follows', async () => {
  const page = await open('layers/conv_pw_2_relu/1/');
  assert.ok(await page.locator('.pager .keys').isVisible(), 'key hint with JavaScript');
  const section = page.locator('section.unit').first();
  const slider = section.getByRole('slider', { name: 'Frame' });
  const img = section.locator('figure.anim img');
  const last = Number(await slider.getAttribute('max'));
  assert.equal(Number(await slider.inputValue()), last);
  await slider.focus();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((el) => el!.getAttribute('src')!.startsWith('blob:'), await img.elementHandle());
  assert.equal(Number(await slider.inputValue()), last - 2);
  assert.equal(await section.locator('svg.curve circle.on').getAttribute('data-frame'), String(last - 2));
  assert.match(await section.locator('figure.anim output').innerText(), /^step \d+$/);
  // The URL stays: arrow keys on the slider do not follow the pager.
  assert.equal(page.url(), pageUrl('layers/conv_pw_2_relu/1/'));
  // The frame shown decodes (it is a PNG from the frames ZIP).
  assert.ok(await img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)));
  const curve = section.locator('svg.curve');
  await curve.scrollIntoViewIfNeeded();
  const box = (await curve.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.11, box.y + box.height / 2);
  const sliderAt = (v: string) => page.waitForFunction((value) => document.querySelector<HTMLInputElement>('section.unit input[type=range]')!.value === value, v);
  await sliderAt('0');
  assert.equal(await section.locator('svg.curve circle.on').getAttribute('data-frame'), '0');
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  await sliderAt(String(last));
  await page.close();
});

test('model map: every layer of the model in graph order, the rendered ones marked and linked', async () => {
  const page = await open('');
  await page.getByText('Model map').click();
  const items = page.locator('.model-map li');
  assert.deepEqual(
    await items.evaluateAll((els) => els.map((e) => e.querySelector('a, span')!.textContent)),
    manifest.model.layers!.map((l) => l.name),
  );
  const links = page.locator('.model-map li a');
  assert.deepEqual((await links.allInnerTexts()).sort(), manifest.layers.map((l) => l.name).sort());
  await links.first().click();
  await page.waitForURL(/\/layers\/[^/]+\/$/);
  assert.match(await page.locator('h1').innerText(), /^Layer /);
  await page.close();
});

test('labels everywhere: search finds a class that was not rendered and says so; Enter opens the first result; top-5 by name', async () => {
  const page = await open('search/');
  await page.locator('#q').fill('tench');
  const hit = page.locator('#results li').first();
  await hit.waitFor();
  assert.match(await hit.innerText(), /^0 tench.* not rendered in this atlas: render it live$/);
  assert.equal(await hit.locator('a').getAttribute('href'), `${BASE}live/?class=0`, 'an unrendered class links to its live render, not to a page that does not exist');
  await page.locator('#q').fill('goldfish');
  // Rendered results show their thumbnail, inside the link.
  const thumb = page.locator('#results li a img').first();
  await thumb.waitFor();
  assert.ok(await thumb.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)));
  await page.locator('#q').press('Enter');
  await page.waitForURL(pageUrl('classes/1/'));
  const top5 = await page.locator('tr', { hasText: "model's top-5" }).first().innerText();
  assert.doesNotMatch(top5, /\d+ class \d+/, `a class without its name: ${top5}`);
  assert.equal(await page.getByRole('search').count(), 1);
  await page.close();
  const search = await open('search/');
  assert.equal(await search.getByRole('search').count(), 1, 'one search form on the search page');
  await search.close();
});

test('no console errors or failed requests (the favicon is under the base path)', async () => {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.url()}: ${r.status()}`));
  for (const rel of ['', 'layers/conv_pw_2_relu/', 'layers/conv_pw_5_relu/7/', 'classes/', 'search/?q=gold']) await page.goto(pageUrl(rel), { waitUntil: 'networkidle' });
  assert.deepEqual(errors, []);
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.equal(icon, `${BASE}favicon.svg`);
  assert.equal((await fetch(local(`${SITE_URL}${icon}`))).status, 200);
  await page.close();
});

test('screenshots: home, layer, unit (slider moved) and search at desktop and phone sizes', async () => {
  await fs.mkdir(SCREENS, { recursive: true });
  for (const [label, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    const ctx = await browser.newContext({ viewport });
    for (const [name, rel] of [
      ['home', ''],
      ['layer', 'layers/conv_pw_2_relu/'],
      ['unit', 'layers/conv_pw_2_relu/1/'],
      ['search', 'search/?q=fish'],
    ] as const) {
      const page = await open(rel, ctx);
      if (name === 'unit') {
        await page.getByRole('slider', { name: 'Frame' }).first().focus();
        await page.keyboard.press('Home');
        await page.waitForFunction(() => document.querySelector('figure.anim img')!.getAttribute('src')!.startsWith('blob:'));
      }
      if (name === 'search') await page.locator('#results li').first().waitFor();
      const file = path.join(SCREENS, `${name}-${label}.png`);
      await page.screenshot({ path: file, fullPage: name !== 'unit' });
      assert.ok((await fs.stat(file)).size > 1000);
      await page.close();
    }
    await ctx.close();
  }
});

test('flags show on the grid and the unit page; "PNG for slides" downloads the image enlarged 4× without smoothing', async () => {
  // 3 steps at 64 px: some class images are not yet their class (the pipeline flags them).
  const flagged = manifest.units.find((u) => u.kind === 'class' && u.flags.includes('not-top1'));
  assert.ok(flagged, `a flagged class unit (flags: ${manifest.units.map((u) => u.flags.join('+')).join(', ')})`);
  const grid = await open('classes/');
  assert.ok((await grid.locator(`a[href$="${flagged.index}/"] .tag`).innerText()).includes('not-top1'));
  const page = await open(`classes/${flagged.index}/`);
  assert.ok(await page.getByText('not top-1: the model does not classify this image as the class').first().isVisible());
  const unit = manifest.units.find((u) => u.kind === 'filter' && u.files)!;
  const filterPage = await open(`layers/${unit.layer}/${unit.index}/`);
  const [download] = await Promise.all([filterPage.waitForEvent('download'), filterPage.getByRole('button', { name: 'PNG for slides' }).first().click()]);
  const file = path.join(dir, 'slide.png');
  await download.saveAs(file);
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [unit.width * 4, unit.height * 4]);
  // Nearest-neighbour: every 4×4 block is one colour, the original pixel.
  const original = await sharp(path.join(dir, 'data', unit.files!.png))
    .raw()
    .toBuffer();
  const at = (buf: Buffer, w: number, c: number, x: number, y: number) => buf.subarray((y * w + x) * c, (y * w + x) * c + 3);
  for (const [x, y] of [
    [0, 0],
    [5, 3],
    [unit.width - 1, unit.height - 1],
  ] as const) {
    for (const [dx, dy] of [
      [0, 0],
      [3, 3],
      [1, 2],
    ] as const)
      assert.deepEqual(at(data, info.width, info.channels, 4 * x + dx, 4 * y + dy), at(original, unit.width, 3, x, y));
  }
});

test("a layer page switches its grid between the optimized images and each filter's top real patch", async () => {
  const layer = manifest.layers[0]!;
  const withPatch = manifest.units.filter((u) => u.kind === 'filter' && u.layer === layer.name && u.examples?.[0]?.patch);
  assert.ok(withPatch.length > 0, 'the test atlas has dataset patches');
  const page = await open(`layers/${layer.slug}/`);
  const panel = page.locator('.tabs > .panel').last();
  assert.equal(await panel.isVisible(), false);
  await page.getByText('Top real patches').click();
  assert.equal(await panel.isVisible(), true);
  const sources = await panel.locator('img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).currentSrc));
  for (const u of withPatch)
    assert.ok(
      sources.some((s) => s.endsWith(u.examples![0]!.patch!.file)),
      `${u.key}: its patch is shown`,
    );
  // Every patch image loads.
  assert.ok(await panel.locator('img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)));
});
