/**
 * Driving the live page in Chromium (tests and bench/live.ts): open a live URL, wait for it to end,
 * read what it reports on `<html>` and the result canvas's pixels; Pearson correlation of two images.
 */
import type { Page } from 'playwright-core';

export interface LiveReport {
  /** `data-live`: done, failed, stopped, invalid, unavailable. */
  state: string;
  message: string;
  backend?: string;
  startObjective?: number;
  objective?: number;
  stepsPerSec?: number;
  top1?: number;
  rank?: number;
}

const ENDED = ['done', 'failed', 'stopped', 'invalid', 'unavailable'];

/** Waits until the page's render (or its refusal) has ended and returns what it reports. */
export async function liveReport(page: Page, timeout = 600_000): Promise<LiveReport> {
  await page.waitForFunction((ended) => ended.includes(document.documentElement.dataset.live ?? ''), ENDED, { timeout, polling: 200 });
  const d = await page.evaluate(() => ({ ...document.documentElement.dataset, message: document.getElementById('live-message')?.textContent ?? '' }) as Record<string, string | undefined>);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    state: d.live!,
    message: d.message ?? '',
    backend: d.liveBackend,
    startObjective: num(d.liveStartObjective),
    objective: num(d.liveObjective),
    stepsPerSec: num(d.liveStepsPerSec),
    top1: num(d.liveTop1),
    rank: num(d.liveRank),
  };
}

/** The result canvas's RGB bytes and size. */
export async function resultPixels(page: Page): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, width, height } = await page.evaluate(() => {
    const c = document.getElementById('live-result') as HTMLCanvasElement;
    const rgba = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const rgb: number[] = [];
    for (let i = 0; i < rgba.length; i += 4) rgb.push(rgba[i]!, rgba[i + 1]!, rgba[i + 2]!);
    return { data: rgb, width: c.width, height: c.height };
  });
  return { rgb: Uint8Array.from(data), width, height };
}

/** Pearson correlation of two equally long byte images. */
export function correlation(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`images of ${a.length} and ${b.length} values`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Standard deviation of an image's values (a flat image has none). */
export function spread(a: Uint8Array): number {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return Math.sqrt(s / a.length);
}
