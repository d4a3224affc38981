/**
 * The Astro content loader of the atlas: reads `<ATLAS_DATA_DIR>/manifest.json` with the pipeline's
 * own reader (`readManifest`, validated by the manifest schema) and fills four collections (see
 * src/content.config.ts): `atlas` (one entry, `manifest`: everything but the lists), `layers` (by
 * slug), `classes` (by id) and `units` (by key). No schema is given to Astro: the data is validated
 * once, by the reader, and typed by `src/lib/atlas.ts`.
 */
import type { Loader, LoaderContext } from 'astro/loaders';
import path from 'node:path';
import { MANIFEST_FILE, SCHEMA_VERSION, readManifest, type Manifest } from '../../pipeline/output/manifest.ts';

/** An empty atlas, for a site built before any pipeline run. */
export function emptyManifest(): Manifest {
  return {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: '',
    generator: '',
    site: { title: 'Filter Atlas', url: '', base: '/' },
    model: { id: '', source: '', inputShape: [0, 0, 0], pixels: { range: [-1, 1] }, classCount: 0, score: 'logit', scoreLayer: '', layerNames: [], weightsHash: '' },
    backend: { name: '', skipped: [] },
    methods: [],
    layers: [],
    classes: [],
    units: [],
  };
}

export type AtlasPart = 'atlas' | 'layers' | 'classes' | 'units';

/** The manifest, read once per change of the file (four collections share one read). */
let cache: { file: string; read: Promise<Manifest | undefined> } | undefined;

function manifestFile(): string | undefined {
  const dir = process.env.ATLAS_DATA_DIR;
  return dir ? path.join(dir, MANIFEST_FILE) : undefined;
}

async function load(file: string | undefined): Promise<Manifest | undefined> {
  if (!file) return undefined;
  if (cache?.file !== file) {
    const read = readManifest(path.dirname(file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    cache = { file, read };
  }
  return cache.read;
}

/** Refills one collection. Entries go in in manifest order, which `getCollection` keeps (the store is a Map). */
function fill(part: AtlasPart, m: Manifest, store: LoaderContext['store']): void {
  store.clear();
  if (part === 'atlas') {
    const { layers: _l, classes: _c, units: _u, ...meta } = m;
    store.set({ id: 'manifest', data: meta });
  } else if (part === 'layers') {
    for (const l of m.layers) store.set({ id: l.slug, data: l });
  } else if (part === 'classes') {
    for (const c of m.classes) store.set({ id: String(c.id), data: c });
  } else {
    for (const u of m.units) store.set({ id: u.key, data: u });
  }
}

export function atlasLoader(part: AtlasPart): Loader {
  return {
    name: `filter-atlas-${part}`,
    load: async ({ store, logger, watcher }) => {
      const file = manifestFile();
      const reload = async () => {
        const manifest = await load(file);
        // One warning per build, from one of the four collections.
        if (!manifest && part === 'atlas') logger.warn(`no manifest at ${file ?? '(ATLAS_DATA_DIR unset)'}: building an empty site; run the pipeline first`);
        fill(part, manifest ?? emptyManifest(), store);
      };
      await reload();
      // `astro dev`: a pipeline run rewrites the manifest; show it without a restart.
      if (watcher && file) {
        watcher.add(file);
        watcher.on('change', (changed) => {
          if (path.resolve(changed) !== path.resolve(file)) return;
          cache = undefined;
          reload().catch((err: Error) => logger.error(err.message));
        });
      }
    },
  };
}
