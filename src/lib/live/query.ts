/**
 * The live page's settings from its URL query, checked against what the atlas's model has (pure,
 * unit-tested). Every value is validated before anything runs; a bad one gives one plain-text
 * message naming the parameter and the value (the page shows it with `textContent`, never as markup).
 *
 * Parameters: `layer` + `filter`, or `class`; `method` (lecture, lucid); `steps`; `stepSize` (lecture's
 * step, lucid's learning rate; `lr` is lucid's name for it); `seed`; `objective` (filters: channel,
 * neuron, cossim, share; classes: logit, logprob, probability); `photo` (a photo of the atlas's dataset,
 * lecture only); `backend` (webgpu, webgl, wasm); `autorun=1`.
 */
import { closest, editDistance } from '../../../pipeline/errors.ts';

/** What the page knows of the model before any weights load (from the manifest, at build time). */
export interface LiveCatalog {
  /** Layers a filter can be read from (a feature map: height × width × channels), with their channel counts. */
  layers: { name: string; filters: number }[];
  classCount: number;
  methods: string[];
  /** Photos of the dataset a lecture render may start from (their `source` names). */
  photos: string[];
}

export const LIVE_BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type LiveBackend = (typeof LIVE_BACKENDS)[number];
export const FILTER_OBJECTIVE_NAMES = ['channel', 'neuron', 'cossim', 'share'] as const;
export const CLASS_SCORE_NAMES = ['logit', 'logprob', 'probability'] as const;
/** More steps than this would keep a tab busy for hours: refused with a message. */
export const MAX_STEPS = 10_000;

export type LiveTarget = { kind: 'filter'; layer: string; filter: number } | { kind: 'class'; id: number };

export interface LiveRequest {
  target: LiveTarget;
  method: string;
  steps?: number;
  stepSize?: number;
  seed?: number;
  objective?: string;
  photo?: string;
  backend?: LiveBackend;
  autorun: boolean;
}

export type Parsed = { ok: true; request: LiveRequest } | { ok: false; error: string };

const KNOWN = new Set(['layer', 'filter', 'class', 'method', 'steps', 'stepSize', 'lr', 'seed', 'objective', 'photo', 'backend', 'autorun']);

/** A value as the message quotes it: at most 60 characters, control characters escaped. */
function quote(v: string): string {
  const short = v.length > 60 ? `${v.slice(0, 60)}…` : v;
  return JSON.stringify(short);
}

class Bad extends Error {}

function integer(q: URLSearchParams, key: string, min: number, max: number, what: string): number | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new Bad(`${key}=${quote(raw)} is not a whole number: ${what}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new Bad(`${key}=${raw.trim()} is out of range: ${what}`);
  return n;
}

function positive(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1e6) throw new Bad(`${key}=${quote(raw)} is not a positive number`);
  return n;
}

function oneOf<T extends string>(q: URLSearchParams, key: string, allowed: readonly T[]): T | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new Bad(`${key}=${quote(raw)} is not one of ${allowed.join(', ')}`);
  return raw as T;
}

/** The closest layer name to `name` (pipeline/errors.ts), when it is close enough to be a typo. */
function nearest(name: string, names: string[]): string | undefined {
  const best = closest(name, names, 1)[0];
  return best !== undefined && editDistance(name.toLowerCase(), best.toLowerCase()) <= Math.max(2, name.length / 3) ? best : undefined;
}

function target(q: URLSearchParams, c: LiveCatalog): LiveTarget {
  const layer = q.get('layer');
  const cls = q.get('class');
  if (layer !== null && cls !== null) throw new Bad('give either layer (with filter) or class, not both');
  if (cls !== null) return { kind: 'class', id: integer(q, 'class', 0, c.classCount - 1, `the model has classes 0 to ${c.classCount - 1}`)! };
  if (layer === null) throw new Bad('say what to render: layer and filter (e.g. ?layer=conv_pw_5_relu&filter=3), or class (e.g. ?class=309)');
  const found = c.layers.find((l) => l.name === layer);
  if (!found) {
    const near = nearest(
      layer,
      c.layers.map((l) => l.name),
    );
    throw new Bad(`layer=${quote(layer)} is not a layer of this model${near ? ` (did you mean ${near}?)` : ''}`);
  }
  if (q.get('filter') === null) throw new Bad(`filter is missing: ${found.name} has filters 0 to ${found.filters - 1}`);
  return { kind: 'filter', layer: found.name, filter: integer(q, 'filter', 0, found.filters - 1, `${found.name} has filters 0 to ${found.filters - 1}`)! };
}

/** The request a query asks for, or the first problem with it. */
export function parseLiveQuery(q: URLSearchParams, c: LiveCatalog): Parsed {
  try {
    const unknown = [...q.keys()].find((k) => !KNOWN.has(k));
    if (unknown !== undefined) throw new Bad(`unknown parameter ${quote(unknown)}; the live page reads ${[...KNOWN].join(', ')}`);
    const t = target(q, c);
    const method = oneOf(q, 'method', c.methods) ?? c.methods[0]!;
    const steps = integer(q, 'steps', 1, MAX_STEPS, `steps must be 1 to ${MAX_STEPS}`);
    if (q.get('lr') !== null && method !== 'lucid') throw new Bad(`lr is lucid's learning rate; for ${method} give stepSize`);
    if (q.get('lr') !== null && q.get('stepSize') !== null) throw new Bad('give stepSize or lr, not both');
    const stepSize = positive(q, 'stepSize') ?? positive(q, 'lr');
    const seed = integer(q, 'seed', 0, 2 ** 32 - 1, 'a seed is 0 to 4294967295');
    const objective = oneOf<string>(q, 'objective', t.kind === 'filter' ? FILTER_OBJECTIVE_NAMES : CLASS_SCORE_NAMES);
    const photo = q.get('photo') ?? undefined;
    if (photo !== undefined) {
      if (method !== 'lecture') throw new Bad(`photo: only the lecture method starts from a photo (method=${method})`);
      if (!c.photos.includes(photo)) throw new Bad(`photo=${quote(photo)} is not a photo of this atlas's dataset${c.photos.length ? ` (e.g. ${c.photos.slice(0, 3).join(', ')})` : ' (it has none)'}`);
    }
    const backend = oneOf(q, 'backend', LIVE_BACKENDS);
    const autorun = q.get('autorun');
    if (autorun !== null && autorun !== '1' && autorun !== '0') throw new Bad(`autorun=${quote(autorun)}: 1 starts at once, 0 (or nothing) waits for the Start button`);
    return {
      ok: true,
      request: {
        target: t,
        method,
        ...(steps !== undefined ? { steps } : {}),
        ...(stepSize !== undefined ? { stepSize } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(objective !== undefined ? { objective } : {}),
        ...(photo !== undefined ? { photo } : {}),
        ...(backend !== undefined ? { backend } : {}),
        autorun: autorun === '1',
      },
    };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.message };
    throw e;
  }
}

/** The query of a request (links from unit pages, the model map and search build theirs with it). */
export function liveQuery(r: Partial<LiveRequest> & { target: LiveTarget }): URLSearchParams {
  const q = new URLSearchParams();
  if (r.target.kind === 'filter') {
    q.set('layer', r.target.layer);
    q.set('filter', String(r.target.filter));
  } else q.set('class', String(r.target.id));
  if (r.method) q.set('method', r.method);
  if (r.steps !== undefined) q.set('steps', String(r.steps));
  if (r.stepSize !== undefined) q.set('stepSize', String(r.stepSize));
  if (r.seed !== undefined) q.set('seed', String(r.seed));
  if (r.objective) q.set('objective', r.objective);
  if (r.photo) q.set('photo', r.photo);
  if (r.backend) q.set('backend', r.backend);
  if (r.autorun) q.set('autorun', '1');
  return q;
}
