// @ts-check
// The site reads the atlas config named by ATLAS_CONFIG (default atlas.config.yaml): its output
// folder (manifest + images, served under <base>/data/), site.url and site.base.
// ATLAS_SITE_URL and ATLAS_SITE_BASE, when set (the Pages workflow sets them from the repository's
// Pages settings), replace site.url and site.base. Telemetry: set ASTRO_TELEMETRY_DISABLED=1
// (the tests and the workflow do).
import { defineConfig } from 'astro/config';
import { fnv1a } from './pipeline/hash.ts';
import sitemap from '@astrojs/sitemap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atlasData } from './src/integrations/atlas-data.ts';
import { liveWasm } from './src/integrations/live-wasm.ts';
import { publicUrlCheck } from './src/integrations/public-url.ts';
import { loadConfig } from './pipeline/config/load.ts';

const configFile = path.resolve(process.env.ATLAS_CONFIG ?? 'atlas.config.yaml');
const { config, dir } = await loadConfig(configFile);
const dataDir = path.resolve(dir, config.output);
process.env.ATLAS_DATA_DIR = dataDir;

/** "/repo", "repo/", "" → "/repo/", "/". */
function normalizeBase(/** @type {string} */ value) {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}/` : '/';
}
const site = process.env.ATLAS_SITE_URL || config.site.url;
const base = process.env.ATLAS_SITE_BASE !== undefined && process.env.ATLAS_SITE_BASE !== '' ? normalizeBase(process.env.ATLAS_SITE_BASE) : config.site.base;

export default defineConfig({
  site,
  base,
  trailingSlash: 'always',
  output: 'static',
  build: { format: 'directory' },
  integrations: [atlasData(dataDir), liveWasm(), sitemap({ filter: (page) => !/\/404\/?$/.test(page) }), publicUrlCheck(configFile)],
  devToolbar: { enabled: false },
  // Astro keeps the content layer's store here. node_modules may be shared by several checkouts and
  // builds of other atlases: one folder per data folder keeps them from reading each other's store.
  cacheDir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules', '.cache', 'filter-atlas', `astro-${fnv1a(dataDir).toString(36)}`),
});
