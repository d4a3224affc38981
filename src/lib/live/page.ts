/**
 * The live page's script: reads and checks the query (`query.ts`) at once, and on Start (or with
 * `autorun=1`) loads the render chunk (`start.ts`: TF.js, the model's files), draws every step's
 * image and the curve, and ends with the result canvas, a PNG download and the quality numbers.
 * Every message is set as text. `<html>` carries the state for automated checks: `data-live`
 * (ready, invalid, unavailable, running, done, stopped, failed) and, at the end,
 * `data-live-start-objective`, `data-live-objective`, `data-live-backend`, `data-live-steps-per-sec`.
 */
import type { LivePageData } from './page-data.ts';
import { parseLiveQuery, type LiveRequest } from './query.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Resolves in a new task without setTimeout's 4-ms clamp: the browser paints and dispatches clicks in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

export function initLivePage(): void {
  const data = JSON.parse($('live-data').textContent!) as LivePageData;
  const root = document.documentElement;
  const message = $('live-message');
  const status = $('live-status');
  const start = $<HTMLButtonElement>('live-start');
  const stop = $<HTMLButtonElement>('live-stop');
  const canvas = $<HTMLCanvasElement>('live-result');
  const curve = $('live-curve');
  const line = curve.querySelector('polyline')!;
  const stepText = $('live-step');
  const backendText = $('live-backend');
  const rateText = $('live-rate');
  const valueText = $('live-value');
  const download = $<HTMLAnchorElement>('live-download');
  const quality = $('live-quality');
  const summary = $('live-summary');
  const settingsText = $('live-settings');

  const say = (text: string, bad = false) => {
    message.textContent = text;
    message.classList.toggle('bad', bad);
  };
  const parsed = parseLiveQuery(new URLSearchParams(location.search), data.catalog);
  if (!parsed.ok) {
    root.dataset.live = 'invalid';
    say(`Nothing was run: ${parsed.error}.`, true);
    return;
  }
  if ('unavailable' in data.live) {
    root.dataset.live = 'unavailable';
    say(`Live rendering is not available for ${data.modelId}: ${data.live.unavailable}.`, true);
    return;
  }
  const r: LiveRequest = parsed.request;
  const t = r.target;
  summary.textContent = `${t.kind === 'filter' ? `${t.layer}, filter ${t.filter}` : `class ${t.id} (${data.labels[t.id] ?? '?'})`}, method ${r.method}`;
  root.dataset.live = 'ready';
  start.disabled = false;

  let controller: AbortController | undefined;
  stop.addEventListener('click', () => {
    controller?.abort();
    stop.disabled = true;
    say('Stopping after this step…');
  });

  async function run(): Promise<void> {
    controller = new AbortController();
    start.disabled = true;
    stop.disabled = false;
    download.hidden = true;
    quality.replaceChildren();
    for (const k of ['liveStartObjective', 'liveObjective', 'liveBackend', 'liveStepsPerSec', 'liveTop1', 'liveRank']) delete root.dataset[k];
    root.dataset.live = 'running';
    say('');
    const values: number[] = [];
    /** Time when each step ended; the rate leaves out the first (shader compilation, warm-up). */
    const ends: number[] = [];
    let planned = 0;
    let backend = '';
    const rate = () => (ends.length > 1 ? (ends.length - 1) / ((ends[ends.length - 1]! - ends[0]!) / 1000) : undefined);
    const draw = () => {
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      const n = Math.max(planned, values.length - 1, 1);
      line.setAttribute('points', values.map((v, i) => `${((i / n) * 300).toFixed(1)},${(95 - ((v - lo) / (hi - lo || 1)) * 90).toFixed(1)}`).join(' '));
    };
    try {
      const { runLive } = await import('./start.ts');
      const out = await runLive(r, data, {
        phase: (text) => (status.textContent = text),
        backend: (b) => {
          backend = b.name;
          backendText.textContent = `${b.name}${b.skipped.length ? ` (skipped ${b.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`;
        },
        settings: (s, seed) => {
          planned = s.steps;
          summary.textContent += `; ${s.steps} steps, step size ${s.stepSize}, seed ${seed}, ${s.size.join('×')} px`;
          settingsText.textContent = JSON.stringify({ seed, ...s }, null, 1);
        },
        frame: (rgb, w, h) => {
          canvas.width = w;
          canvas.height = h;
          const img = new ImageData(w, h);
          for (let i = 0; i < w * h; i++) {
            img.data[i * 4] = rgb[i * 3]!;
            img.data[i * 4 + 1] = rgb[i * 3 + 1]!;
            img.data[i * 4 + 2] = rgb[i * 3 + 2]!;
            img.data[i * 4 + 3] = 255;
          }
          canvas.getContext('2d')!.putImageData(img, 0, 0);
        },
        value: (v) => {
          values.push(v);
          valueText.textContent = v.toPrecision(5);
          draw();
        },
        step: (s) => {
          ends.push(performance.now());
          stepText.textContent = `${s + 1} of ${planned}`;
          const sps = rate();
          if (sps !== undefined) rateText.textContent = sps.toFixed(1);
          // A task boundary: the page draws this step and takes clicks (Stop) before the next.
          return nextTask();
        },
        signal: controller.signal,
      });
      const res = out.result;
      root.dataset.liveBackend = backend;
      root.dataset.liveStartObjective = String(res.curve[0]);
      root.dataset.liveObjective = String(res.curve[res.curve.length - 1]);
      root.dataset.liveStepsPerSec = String(rate() ?? 0);
      for (const [name, value] of out.quality) {
        const dt = document.createElement('dt');
        dt.textContent = name;
        const dd = document.createElement('dd');
        dd.textContent = value;
        quality.append(dt, dd);
      }
      if (out.measured && 'top1' in out.measured) root.dataset.liveTop1 = String(out.measured.top1);
      if (out.measured && 'rank' in out.measured) root.dataset.liveRank = String(out.measured.rank);
      if (res.error) throw new Error(res.error);
      canvas.toBlob((blob) => {
        if (!blob) return;
        if (download.href) URL.revokeObjectURL(download.href);
        download.href = URL.createObjectURL(blob);
        download.download = `${data.modelId}-${t.kind === 'filter' ? `${t.layer}-${t.filter}` : `class-${t.id}`}-${r.method}-live.png`;
        download.hidden = false;
      }, 'image/png');
      const stopped = controller.signal.aborted;
      status.textContent = stopped ? `stopped after ${res.curve.length - 1} steps` : 'done';
      if (out.qualityError) say(`No quality numbers: ${out.qualityError}.`);
      root.dataset.live = stopped ? 'stopped' : 'done';
    } catch (e) {
      root.dataset.live = 'failed';
      status.textContent = 'failed';
      say(`The live render failed: ${(e as Error).message}`, true);
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  }
  start.addEventListener('click', () => void run());
  if (r.autorun) void run();
}
