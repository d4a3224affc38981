/**
 * TF.js's wasm binaries for the live page, as static files under `<base>live/wasm/` (copied from the
 * installed `@tensorflow/tfjs-backend-wasm` after `astro build`, served from it by `astro dev`), so
 * the page's wasm backend loads them from the site itself on any static host.
 */
import type { AstroIntegration } from 'astro';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the page's script looks for them (src/lib/live/backend.ts `setWasmPaths`). */
export const LIVE_WASM_DIR = 'live/wasm/';

function wasmFiles(): string[] {
  const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  return fs
    .readdirSync(dist)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => path.join(dist, f));
}

export function liveWasm(): AstroIntegration {
  let base = '/';
  return {
    name: 'filter-atlas-live-wasm',
    hooks: {
      'astro:config:done': ({ config }) => {
        base = config.base.endsWith('/') ? config.base : `${config.base}/`;
      },
      'astro:server:setup': ({ server }) => {
        const prefix = `${base}${LIVE_WASM_DIR}`;
        const files = new Map(wasmFiles().map((f) => [path.basename(f), f]));
        server.middlewares.use((req, res, next) => {
          const url = (req.url ?? '').split('?')[0]!;
          const file = url.startsWith(prefix) ? files.get(url.slice(prefix.length)) : undefined;
          if (!file) return next();
          res.setHeader('Content-Type', 'application/wasm');
          fs.createReadStream(file).pipe(res);
        });
      },
      'astro:build:done': async ({ dir }) => {
        const target = path.join(fileURLToPath(dir), LIVE_WASM_DIR);
        await fs.promises.mkdir(target, { recursive: true });
        for (const f of wasmFiles()) await fs.promises.copyFile(f, path.join(target, path.basename(f)));
      },
    },
  };
}
