// @ts-check
// The site reads the atlas config named by ATLAS_CONFIG (default atlas.config.yaml): its output
// folder (manifest + images, served under <base>/data/), site.url and site.base.
import { defineConfig } from 'astro/config';
import path from 'node:path';
import { atlasData } from './src/integrations/atlas-data.ts';
import { loadConfig } from './pipeline/config/load.ts';

const configFile = path.resolve(process.env.ATLAS_CONFIG ?? 'atlas.config.yaml');
const { config, dir } = await loadConfig(configFile);
const dataDir = path.resolve(dir, config.output);
process.env.ATLAS_DATA_DIR = dataDir;

export default defineConfig({
  site: config.site.url,
  base: config.site.base,
  trailingSlash: 'always',
  output: 'static',
  build: { format: 'directory' },
  integrations: [atlasData(dataDir)],
  devToolbar: { enabled: false },
});
