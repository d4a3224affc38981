/**
 * Stable URLs: page paths and image URLs depend only on (model, layer, filter) or (model, class).
 * Two pipeline runs + site builds (fresh output, other batch size, other layer order) give the same
 * URLs; adding a layer to the config leaves the URLs of every existing unit as they were.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BASE, DEFAULT_CLASSES, SITE_URL, buildSite, builtPages, runPipeline, tempDir } from './support/atlas-site.ts';

const ORIGIN_BASE = `${SITE_URL}${BASE}`;

interface Site {
  pages: string[];
  /** Page path → sorted absolute URLs of the data files it shows or links (images, downloads, og:image). */
  urls: Map<string, string[]>;
  dist: string;
}

async function readSite(dist: string): Promise<Site> {
  const pages = (await builtPages(dist)).filter((p) => p.endsWith('/') || p === '');
  const urls = new Map<string, string[]>();
  for (const page of pages) {
    const html = await fs.readFile(path.join(dist, page, 'index.html'), 'utf8');
    const here = new URL(page, ORIGIN_BASE);
    const found = new Set<string>();
    for (const m of html.matchAll(/\s(?:src|href|content)="([^"]+)"/g)) {
      const raw = m[1]!.replace(/&amp;/g, '&');
      if (!/\.(png|webp|gif|zip)$/.test(raw)) continue;
      found.add(new URL(raw, here).toString());
    }
    urls.set(page, [...found].sort());
  }
  return { pages, urls, dist };
}

const unitPage = (p: string) => /^layers\/[^/]+\/\d+\/$/.test(p) || /^classes\/\d+\/$/.test(p);

let dir: string;
let first: Site;
let second: Site;
let third: Site;
before(async () => {
  dir = await tempDir('fa-urls-');
  const layers = { conv_pw_2_relu: '0-3', conv_pw_5_relu: [1, 7] };
  const a = await runPipeline(dir, { layers, classes: DEFAULT_CLASSES }, 'a');
  await buildSite(a, path.join(dir, 'dist-a'));
  // A fresh output folder (everything rendered again), another batch size, layers in another order.
  const b = await runPipeline(dir, { layers: { conv_pw_5_relu: [7, 1], conv_pw_2_relu: '0-3' }, classes: [...DEFAULT_CLASSES].reverse(), output: path.join(dir, 'data-b'), batch: 3 }, 'b');
  await buildSite(b, path.join(dir, 'dist-b'));
  // The first config plus one more layer, rebuilt into the first output folder.
  const c = await runPipeline(dir, { layers: { conv_pw_1_relu: [0, 2], ...layers }, classes: DEFAULT_CLASSES }, 'c');
  await buildSite(c, path.join(dir, 'dist-c'));
  [first, second, third] = await Promise.all(['dist-a', 'dist-b', 'dist-c'].map((d) => readSite(path.join(dir, d))));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('two builds give the same page paths and the same image URLs on every page', () => {
  assert.ok(first.pages.filter(unitPage).length >= 9, `unit pages: ${first.pages.filter(unitPage).join(', ')}`);
  assert.deepEqual(second.pages, first.pages);
  for (const page of first.pages) {
    if (!unitPage(page) && !page.startsWith('layers/')) continue;
    assert.deepEqual(second.urls.get(page), first.urls.get(page), page);
  }
  const some = first.urls.get('layers/conv_pw_5_relu/7/')!;
  assert.ok(some.includes(`${ORIGIN_BASE}data/mobilenet_v1_0.25_224/lecture/layers/conv_pw_5_relu/7.png`), some.join('\n'));
});

test('adding a layer keeps every existing unit page and its image URLs', async () => {
  const added = third.pages.filter((p) => !first.pages.includes(p));
  assert.ok(added.includes('layers/conv_pw_1_relu/') && added.includes('layers/conv_pw_1_relu/2/'), `added: ${added.join(', ')}`);
  assert.ok(added.every((p) => p.startsWith('layers/conv_pw_1_relu/')), `other pages appeared: ${added.join(', ')}`);
  for (const page of first.pages) {
    assert.ok(third.pages.includes(page), `${page} is gone`);
    if (!unitPage(page) && !/^layers\/[^/]+\/$/.test(page)) continue;
    assert.deepEqual(third.urls.get(page), first.urls.get(page), page);
    for (const url of third.urls.get(page)!) {
      const file = path.join(third.dist, decodeURIComponent(url.slice(ORIGIN_BASE.length)));
      await fs.access(file).catch(() => assert.fail(`${page}: ${url} has no file in the new build`));
    }
  }
});
