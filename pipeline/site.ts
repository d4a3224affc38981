/** Builds the Astro site for a config (its data folder, title, url and base). */
import { build } from 'astro';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildSite(configFile: string, quiet = false, outDir?: string): Promise<void> {
  process.env.ATLAS_CONFIG = configFile;
  await build({ root: ROOT, logLevel: quiet ? 'error' : 'info', ...(outDir ? { outDir } : {}) });
}
