/**
 * Checks a built site: every local src/href (quoted or not, root-relative or relative to its page)
 * stays under `base` and resolves to a file in `dist`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function htmlFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.html')).map((e) => path.join(dir, e));
}

const ATTRIBUTE = /\s(src|href|data-gif)=(?:"([^"]*)"|'([^']*)'|([^\s>"']+))/g;
const EXTERNAL = /^([a-z][a-z0-9+.-]*:|#|\/\/)/i;

/** Asserts every link resolves; returns the number of image references (src, and data-gif: the GIF a unit page plays on request). */
export async function assertLinksResolve(dist: string, base: string): Promise<number> {
  let images = 0;
  for (const file of await htmlFiles(dist)) {
    const html = await fs.readFile(file, 'utf8');
    // The URL the page is served at: base + its folder (index.html) or its file name.
    const rel = path.relative(dist, file).split(path.sep).join('/');
    const pageUrl = `http://site${base}${rel.endsWith('index.html') ? rel.slice(0, -'index.html'.length) : rel}`;
    for (const m of html.matchAll(ATTRIBUTE)) {
      // `src=&quot;…&quot;` is escaped text (a copy-ready snippet), not an attribute.
      if (m[4]?.startsWith('&')) continue;
      const attr = m[1]!;
      const url = (m[2] ?? m[3] ?? m[4]!).replaceAll('&amp;', '&');
      if (!url || EXTERNAL.test(url)) continue;
      const resolved = decodeURI(new URL(url, pageUrl).pathname);
      assert.ok(resolved.startsWith(base), `${rel}: ${attr}="${url}" leaves the base path ${base}`);
      const inDist = resolved.slice(base.length);
      const target = path.join(dist, inDist.endsWith('/') || inDist === '' ? `${inDist}index.html` : inDist);
      await fs.access(target).catch(() => assert.fail(`${rel} references ${url} (${resolved}), missing`));
      if (attr !== 'href') images++;
    }
  }
  return images;
}
