/**
 * Serves the pipeline's data folder (manifest, images) under `<base>/data/`: copied into the build
 * output after `astro build`, served from disk by `astro dev`. Units whose data has no frames ZIP
 * get one made from their GIF (see `frames-zip.ts`).
 */
import type { AstroIntegration } from 'astro';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifestIfAny } from '../../pipeline/output/manifest.ts';
import { DATA_URL_DIR } from '../../pipeline/output/paths.ts';
import { ensureFrameZips, zipFromGif } from './frames-zip.ts';

const TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif', '.json': 'application/json', '.zip': 'application/zip' };

export function atlasData(dataDir: string): AstroIntegration {
  let base = '/';
  let cacheDir = '';
  return {
    name: 'filter-atlas-data',
    hooks: {
      'astro:config:done': ({ config }) => {
        base = config.base.endsWith('/') ? config.base : `${config.base}/`;
        cacheDir = path.join(fileURLToPath(config.root), 'node_modules', '.cache', 'filter-atlas', 'frames-zip');
      },
      'astro:server:setup': ({ server }) => {
        const prefix = `${base}${DATA_URL_DIR}`;
        server.middlewares.use((req, res, next) => {
          const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
          if (!url.startsWith(prefix)) return next();
          const file = path.resolve(dataDir, url.slice(prefix.length));
          if (!file.startsWith(dataDir + path.sep)) return next();
          const gif = file.replace(/\.zip$/, '.gif');
          if (file.endsWith('.zip') && !fs.existsSync(file) && fs.existsSync(gif)) {
            zipFromGif(gif).then(
              (zip) => {
                res.setHeader('Content-Type', TYPES['.zip']!);
                res.end(zip);
              },
              () => next(),
            );
            return;
          }
          if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return next();
          res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
          fs.createReadStream(file).pipe(res);
        });
      },
      'astro:build:done': async ({ dir, logger }) => {
        const target = path.join(fileURLToPath(dir), DATA_URL_DIR);
        await fs.promises.rm(target, { recursive: true, force: true });
        if (!fs.existsSync(dataDir)) return;
        await fs.promises.cp(dataDir, target, { recursive: true, filter: (src) => !src.includes('.tmp-') && !path.basename(src).startsWith('.') });
        const manifest = await readManifestIfAny(dataDir);
        if (!manifest) return;
        const { made, cached } = await ensureFrameZips(manifest.units, dataDir, target, cacheDir);
        if (made + cached > 0) logger.info(`frames ZIPs from GIFs: ${made} made, ${cached} from cache`);
      },
    },
  };
}
