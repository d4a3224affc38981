/**
 * The unit settings of a live render: the atlas's own for a unit of that method and kind (what the
 * pipeline records, `manifest.live.settings`: every published unit of the atlas has them), with the
 * query's changes. A changed step count ends a class unit's continuation (the steps are then exactly
 * those asked for). Pure.
 */
import type { LiveFiles, UnitSettings } from '../../../pipeline/output/manifest.ts';
import { unitKey } from '../../../pipeline/output/paths.ts';
import { unitSeed } from '../../../pipeline/render/seed.ts';
import type { LiveRequest } from './query.ts';

export type LiveDefaults = Extract<LiveFiles, { graph: string }>;

/** The settings of `r` for a target whose layer caps its output (`capped`: ReLU6) or not. */
export function liveSettings(r: LiveRequest, defaults: LiveDefaults, capped: boolean): UnitSettings {
  const d = defaults.settings[r.method];
  if (!d) throw new Error(`this atlas has no settings for method "${r.method}"`);
  const s = structuredClone(r.target.kind === 'class' ? d.class : capped ? d.filterCapped : d.filter) as UnitSettings & { lr?: number; maxSteps?: number; margin?: number };
  if (r.steps !== undefined && r.steps !== s.steps) {
    s.steps = r.steps;
    delete s.maxSteps;
    delete s.margin;
  }
  if (r.stepSize !== undefined) {
    s.stepSize = r.stepSize;
    if (s.lr !== undefined) s.lr = r.stepSize;
  }
  if (r.objective !== undefined) {
    if (r.target.kind === 'class') s.score = r.objective as UnitSettings['score'];
    else if (r.objective === 'channel') delete s.filterObjective;
    else s.filterObjective = r.objective as UnitSettings['filterObjective'];
  }
  if (r.photo !== undefined) s.photo = r.photo;
  return s;
}

/** The unit's key, as the manifest and the pipeline's seeds name it. */
export function liveUnitKey(r: LiveRequest): string {
  return unitKey(r.target.kind === 'filter' ? { method: r.method, kind: 'filter', layer: r.target.layer, index: r.target.filter } : { method: r.method, kind: 'class', index: r.target.id });
}

/** The query's seed, or the one the pipeline gives this unit (`render/seed.ts`): a published unit's own. */
export function liveSeed(r: LiveRequest, defaults: LiveDefaults): number {
  return r.seed ?? unitSeed(defaults.seed, liveUnitKey(r));
}
