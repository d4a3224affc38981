/**
 * Stable URLs: page paths and image URLs depend only on (model, layer, filter) or (model, class).
 * Two pipeline runs + site builds (fresh output, other batch size, other layer order) give the same
 * URLs; adding a layer to the config leaves the URLs of every existing unit as they were.
 * Public URLs: built for a public site.url, every snippet, canonical and social-card URL carries it;
 * built for a loopback one, the build warns and every page says it is a preview.
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
let configA: string;
before(async () => {
  dir = await tempDir('fa-urls-');
  const layers = { conv_pw_2_relu: '0-3', conv_pw_5_relu: [1, 7] };
  const a = (configA = await runPipeline(dir, { layers, classes: DEFAULT_CLASSES }, 'a'));
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
  assert.ok(
    added.every((p) => p.startsWith('layers/conv_pw_1_relu/')),
    `other pages appeared: ${added.join(', ')}`,
  );
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

/** Every absolute URL a page gives out to be pasted or shared: snippets, canonical, og: and twitter: URLs. */
async function sharedUrls(dist: string, page: string): Promise<{ kind: string; url: string }[]> {
  const html = await fs.readFile(path.join(dist, page, 'index.html'), 'utf8');
  const out: { kind: string; url: string }[] = [];
  for (const m of html.matchAll(/<link rel="canonical" href="([^"]+)"/g)) out.push({ kind: 'canonical', url: m[1]! });
  for (const m of html.matchAll(/<meta (?:property|name)="((?:og|twitter):(?:url|image))" content="([^"]+)"/g)) out.push({ kind: m[1]!, url: m[2]! });
  for (const m of html.matchAll(/<pre class="snippet"[^>]*>([\s\S]*?)<\/pre>/g)) for (const u of m[1]!.matchAll(/https?:\/\/[^\s"<>)&]+/g)) out.push({ kind: 'snippet', url: u[0] });
  return out;
}

test('built for a public URL: every snippet, canonical and og:/twitter: URL carries it, and no page says "preview"', async () => {
  const kinds = new Set<string>();
  for (const page of first.pages) {
    const urls = await sharedUrls(first.dist, page);
    for (const { kind, url } of urls) {
      kinds.add(kind);
      assert.ok(url.startsWith(ORIGIN_BASE), `${page}: ${kind} ${url}`);
    }
    assert.ok(
      urls.some((u) => u.kind === 'canonical' && u.url === `${ORIGIN_BASE}${page}`),
      `${page}: canonical`,
    );
    assert.doesNotMatch(await fs.readFile(path.join(first.dist, page, 'index.html'), 'utf8'), /class="preview"/, page);
  }
  assert.deepEqual([...kinds].sort(), ['canonical', 'og:image', 'og:url', 'snippet', 'twitter:image']);
});

test('a loopback site.url: the build ends with a warning naming what breaks and how to set the URL; pages say "preview build"', async () => {
  const dist = path.join(dir, 'dist-loopback');
  const output = await buildSite(configA, dist, { ATLAS_SITE_URL: 'http://localhost:4321' });
  assert.ok(output.includes('a loopback address'), `no warning in:\n${output}`);
  const warning = output.slice(output.indexOf('a loopback address'));
  for (const words of ['snippets', 'canonical', 'og:url', 'og:image', 'site.url', configA, 'ATLAS_SITE_URL']) assert.ok(warning.includes(words), `the warning does not name ${words}:\n${warning}`);
  const page = 'layers/conv_pw_5_relu/7/';
  const html = await fs.readFile(path.join(dist, page, 'index.html'), 'utf8');
  assert.match(html, /class="preview" role="note">\s*Preview build/);
  const urls = await sharedUrls(dist, page);
  assert.deepEqual([...new Set(urls.map((u) => u.kind))].sort(), ['canonical', 'og:image', 'og:url', 'snippet', 'twitter:image']);
  assert.ok(urls.every((u) => u.url.startsWith(`http://localhost:4321${BASE}`)));
});
