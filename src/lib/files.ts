/**
 * File names derived from a unit, shared by pages and the build integration (no Astro globals here).
 * URLs stay stable: they come from the manifest's files, which come from `pipeline/output/paths.ts`.
 */
import type { ManifestUnit } from '../../pipeline/output/manifest.ts';
import { slug } from '../../pipeline/output/paths.ts';

/** The unit's frames ZIP, relative to the data folder: the manifest's, else beside its PNG. */
export function zipFile(files: NonNullable<ManifestUnit['files']>): string {
  return files.zip ?? files.png.replace(/\.png$/, '.zip');
}

/**
 * A name for a downloaded file that is unique across the atlas, e.g.
 * `mobilenet_v1_0.25_224-conv_pw_5_relu-7-lecture`, `mobilenet_v1_0.25_224-class-141-lecture`.
 */
export function downloadName(modelId: string, unit: Pick<ManifestUnit, 'kind' | 'layer' | 'index' | 'method'>): string {
  const target = unit.kind === 'filter' ? `${slug(unit.layer)}-${unit.index}` : `class-${unit.index}`;
  return `${modelId}-${target}-${unit.method}`;
}
