/**
 * Glue for the live page's files (`output/live-files.ts`): the lean graph as lowered, and every
 * method's unit settings for units nobody rendered (what the pipeline would use with this config),
 * so the live page renders an unrendered filter or class exactly as a rerun with it configured would.
 */
import type { LeanGraph } from '../engine/graph.ts';
import type { LoweredGraph } from '../engine/lower.ts';
import type { LiveFiles, UnitSettings } from '../output/manifest.ts';
import { METHODS } from '../render/methods/index.ts';
import type { AtlasContext } from './prepare.ts';

export function loweredOf(graph: LeanGraph): LoweredGraph {
  return { inputName: graph.inputName, inputShape: graph.inputShape, nodes: graph.lowered, outputName: graph.outputName, ...(graph.logitNode !== undefined ? { logitNode: graph.logitNode } : {}) };
}

type Defaults = Pick<Extract<LiveFiles, { graph: string }>, 'seed' | 'settings'>;

/** The atlas seed, and per method the settings of a filter of a layer that does not cap its output, of one that does (ReLU6), and of a class. */
export function liveDefaults(ctx: AtlasContext): Defaults {
  const { config } = ctx.loaded;
  const of = (id: string, kind: 'filter' | 'class', capped: boolean) => METHODS[id]!.settings(config, kind, { size: ctx.size, capped }) as unknown as UnitSettings;
  const settings = Object.fromEntries(Object.keys(METHODS).map((id) => [id, { filter: of(id, 'filter', false), filterCapped: of(id, 'filter', true), class: of(id, 'class', false) }]));
  return { seed: config.render.seed, settings: settings as Defaults['settings'] };
}
