/**
 * The site's data: the pipeline's manifest, through one content loader (src/lib/atlas-loader.ts)
 * that validates it with the manifest schema. Pages read it through src/lib/atlas.ts.
 */
import { defineCollection } from 'astro:content';
import { atlasLoader } from './lib/atlas-loader.ts';

export const collections = {
  atlas: defineCollection({ loader: atlasLoader('atlas') }),
  layers: defineCollection({ loader: atlasLoader('layers') }),
  classes: defineCollection({ loader: atlasLoader('classes') }),
  units: defineCollection({ loader: atlasLoader('units') }),
};
