/**
 * Serves the pipeline's data folder (manifest, images) under `<base>/data/`: copied into the build
 * output after `astro build`, served from disk by `astro dev`.
 */
import type { AstroIntegration } from 'astro';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_URL_DIR } from '../../pipeline/output/paths.ts';

const TYPES: Record<string, string> = { '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif', '.json': 'application/json', '.zip': 'application/zip' };

export function atlasData(dataDir: string): AstroIntegration {
  let base = '/';
  return {
    name: 'filter-atlas-data',
    hooks: {
      'astro:config:done': ({ config }) => {
        base = config.base.endsWith('/') ? config.base : `${config.base}/`;
      },
      'astro:server:setup': ({ server }) => {
        const prefix = `${base}${DATA_URL_DIR}`;
        server.middlewares.use((req, res, next) => {
          const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
          if (!url.startsWith(prefix)) return next();
          const file = path.resolve(dataDir, url.slice(prefix.length));
          if (!file.startsWith(dataDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return next();
          res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
          fs.createReadStream(file).pipe(res);
        });
      },
      'astro:build:done': async ({ dir }) => {
        const target = path.join(fileURLToPath(dir), DATA_URL_DIR);
        await fs.promises.rm(target, { recursive: true, force: true });
        await fs.promises.cp(dataDir, target, { recursive: true, filter: (src) => !src.includes('.tmp-') });
      },
    },
  };
}
