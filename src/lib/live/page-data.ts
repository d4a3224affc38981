/** What the live page's build embeds for its script (JSON in the page): the model's catalog and where its live files are. */
import type { LiveDefaults } from './settings.ts';
import type { LiveCatalog } from './query.ts';

export interface LivePageData {
  modelId: string;
  catalog: LiveCatalog;
  /** The atlas's live record, or why live rendering is unavailable. */
  live: LiveDefaults | { unavailable: string };
  /** URLs (with the site's base): the graph's JSON, the folder of TF.js's wasm files. */
  graphUrl: string;
  wasmBase: string;
  scoreLayer: string;
  /** Every class's name, index = id. */
  labels: string[];
  /** A dataset photo's thumbnail URL by its source name (start photos). */
  photos: Record<string, string>;
}

/** JSON safe inside a `<script>` element (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}
