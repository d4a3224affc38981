/** A lucid render plan for the chain tests: the method's own settings at 48 px, units seeded 2000 + index. */
import { configSchema } from '../../pipeline/config/schema.ts';
import type { RenderPlan } from '../../pipeline/render/method.ts';
import { lucidMethod } from '../../pipeline/render/methods/lucid.ts';

export const LUCID_TEST_SIZE: [number, number] = [48, 48];

/** `render.lucid` set to `lucid`; filters capped (a ReLU layer's pre-activation), classes read as logits. */
export function lucidPlan(kind: 'filter' | 'class', node: string, indices: number[], lucid: Record<string, unknown>): RenderPlan {
  const config = configSchema.parse({ model: { id: 'm', source: 'x' }, render: { lucid } });
  const settings = lucidMethod.settings(config, kind, { size: LUCID_TEST_SIZE, capped: kind === 'filter' });
  const objective = lucidMethod.objective(settings, { kind, node, indices, isLogit: true });
  const units = indices.map((i) => ({ key: `lucid/${kind}/${node}/${i}`, seed: 2000 + i }));
  return lucidMethod.plan(settings, units, objective);
}
