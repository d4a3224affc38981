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

/** How a unit's files were encoded (`media`); units written before the media budget: every frame, lossless, a stored ZIP. */
export function mediaOf(unit: Pick<ManifestUnit, 'media' | 'width' | 'height' | 'frames'>): NonNullable<ManifestUnit['media']> {
  return unit.media ?? { tier: 'full', image: 'png', zip: 'stored', gif: { width: unit.width, height: unit.height, frames: Array.from({ length: unit.frames }, (_, i) => i) } };
}

/** The command that splits a GIF into numbered PNGs without the browser (ImageMagick), matching the ZIP's names. */
export function gifSplitCommand(gif: string, folder: string, digits: number): string {
  return `mkdir -p ${folder} && magick ${gif} -coalesce ${folder}/frame-%0${digits}d.png`;
}
