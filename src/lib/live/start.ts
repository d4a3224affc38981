/**
 * The live page's render, loaded only when the reader starts one (TF.js, the backends and the
 * pipeline's code are in this chunk): backend, model files, settings, start photo, the render loop,
 * and the quality rows a unit page shows.
 */
import type { ManifestUnit, UnitSettings } from '../../../pipeline/output/manifest-schema.ts';
import type { UnitResult } from '../../../pipeline/render/method.ts';
import type { UnitQuality } from '../../../pipeline/render/quality.ts';
import { qualityRows } from '../quality.ts';
import { startBackend, type StartedBackend } from './backend.ts';
import type { LivePageData } from './page-data.ts';
import type { LiveRequest } from './query.ts';
import { capsOutput, loadLiveModel, renderLive } from './render.ts';
import { liveSeed, liveSettings, liveUnitKey, type LiveDefaults } from './settings.ts';

export interface LiveHooks {
  phase(text: string): void;
  backend(b: StartedBackend): void;
  /** The settings and seed the render uses (shown as they are known). */
  settings(s: UnitSettings, seed: number): void;
  frame(rgb: Uint8Array, width: number, height: number): void;
  value(v: number): void;
  /** After every step; the render waits for it (the page yields to its event loop there). */
  step(step: number): Promise<void>;
  signal: AbortSignal;
}

export interface LiveOutcome {
  result: UnitResult;
  /** The unit page's quality rows. */
  quality: [string, string][];
  /** The numbers themselves (the page marks top-1 or rank on `<html>`). */
  measured?: UnitQuality;
  qualityError?: string;
}

/** Canonical pixels [h, w, 3] of a photo drawn to fill `size` ([h, w], centre-cropped: the pipeline's `fit: cover`). */
async function photoPixels(url: string, [h, w]: [number, number]): Promise<Float32Array> {
  const img = new Image();
  img.src = url;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const g = c.getContext('2d')!;
  const scale = Math.max(w / img.naturalWidth, h / img.naturalHeight);
  const [dw, dh] = [img.naturalWidth * scale, img.naturalHeight * scale];
  g.drawImage(img, (w - dw) / 2, (h - dh) / 2, dw, dh);
  const rgba = g.getImageData(0, 0, w, h).data;
  const out = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) for (let k = 0; k < 3; k++) out[i * 3 + k] = rgba[i * 4 + k]! / 127.5 - 1;
  return out;
}

export async function runLive(r: LiveRequest, data: LivePageData, hooks: LiveHooks): Promise<LiveOutcome> {
  const defaults = data.live as LiveDefaults;
  hooks.phase('starting the backend');
  hooks.backend(await startBackend(r.backend, data.wasmBase));
  hooks.phase('loading the model');
  const model = await loadLiveModel(data.graphUrl, (loaded, total) => hooks.phase(`loading the model: ${(loaded / 1024 ** 2).toFixed(1)} of ${(total / 1024 ** 2).toFixed(1)} MB`));
  try {
    const capped = r.target.kind === 'filter' && capsOutput(model.graph, r.target.layer);
    const settings = liveSettings(r, defaults, capped);
    const seed = liveSeed(r, defaults);
    hooks.settings(settings, seed);
    const photo = settings.photo ? await photoPixels(data.photos[settings.photo]!, settings.size) : undefined;
    hooks.phase('rendering');
    const out = await renderLive({
      model,
      target: r.target,
      method: r.method,
      settings,
      seed,
      key: liveUnitKey(r),
      scoreLayer: data.scoreLayer,
      ...(photo ? { photo } : {}),
      observer: { frame: (frames, w, h) => hooks.frame(frames[0]!, w, h), value: (v) => hooks.value(v[0]!) },
      signal: hooks.signal,
      onStep: (s) => hooks.step(s),
    });
    const label = (id: number) => `${id} ${data.labels[id] ?? ''}`.trim();
    const quality = out.quality ? qualityRows({ kind: r.target.kind, quality: out.quality } as ManifestUnit, label) : [];
    return { result: out.result, quality, ...(out.quality ? { measured: out.quality } : {}), ...(out.qualityError ? { qualityError: out.qualityError } : {}) };
  } finally {
    model.graph.dispose();
  }
}
