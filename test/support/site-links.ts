/** Checks a built site: every root-relative src/href under `base` resolves to a file in `dist`. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function htmlFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.html')).map((e) => path.join(dir, e));
}

/** Asserts every link resolves; returns the number of image (src) references. */
export async function assertLinksResolve(dist: string, base: string): Promise<number> {
  let images = 0;
  for (const file of await htmlFiles(dist)) {
    const html = await fs.readFile(file, 'utf8');
    for (const [, attr, url] of html.matchAll(/\s(src|href)="([^"]+)"/g)) {
      if (!url!.startsWith('/')) continue;
      assert.ok(url!.startsWith(base), `${file}: ${attr}="${url}" ignores the base path`);
      const rel = url!.slice(base.length).split('#')[0]!;
      const target = path.join(dist, rel.endsWith('/') || rel === '' ? `${rel}index.html` : rel);
      await fs.access(target).catch(() => assert.fail(`${path.relative(dist, file)} references ${url}, missing`));
      if (attr === 'src') images++;
    }
  }
  return images;
}
