/**
 * conv-ops and pool-ops on wasm (and cpu) against the cpu backend's own autodiff of plain tf ops:
 * forward values and input gradients, on random shapes.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../pipeline/engine/backend.ts';
import { makeConv, type FusedActivation } from '../pipeline/engine/conv-ops.ts';
import { maxPool } from '../pipeline/engine/pool-ops.ts';
import { onBackend, relErr, rng } from './support/engine.ts';

interface Case {
  kind: 'conv' | 'depthwise';
  n: number;
  h: number;
  w: number;
  c: number;
  k: [number, number];
  out: number;
  strides: [number, number];
  padding: 'same' | 'valid';
  dil: [number, number];
  bias: boolean;
  act: FusedActivation;
}

function cases(): Case[] {
  const r = rng(7);
  const out: Case[] = [];
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  for (const kind of ['conv', 'depthwise'] as const)
    for (const strides of [
      [1, 1],
      [2, 2],
      [2, 1],
    ] as [number, number][])
      for (const padding of ['same', 'valid'] as const)
        for (const dil of (strides[0] === 1 && strides[1] === 1
          ? [
              [1, 1],
              [2, 2],
            ]
          : [[1, 1]]) as [number, number][]) {
          const k: [number, number] = [pick([1, 3, 5]), pick([1, 2, 3])];
          out.push({
            kind,
            n: pick([1, 2]),
            h: pick([7, 9, 12, 13]),
            w: pick([5, 8, 11]),
            c: pick([1, 3, 4]),
            k,
            out: kind === 'conv' ? pick([2, 5]) : pick([1, 2, 3]),
            strides,
            padding,
            dil,
            bias: r() < 0.5,
            act: pick(['linear', 'relu', 'relu6'] as FusedActivation[]),
          });
        }
  // Issue 16's strided shapes: ResNet50V2's 7×7/2 stem (valid, after its own padding), 1×1/2, and
  // an even-sized 3×3/2 'same' (the polyphase path's phases have different lengths).
  const base = { n: 2, c: 3, dil: [1, 1] as [number, number], bias: true, act: 'relu' as FusedActivation };
  out.push({ ...base, kind: 'conv', h: 16, w: 15, k: [7, 7], out: 4, strides: [2, 2], padding: 'valid' });
  out.push({ ...base, kind: 'conv', h: 9, w: 10, k: [1, 1], out: 5, strides: [2, 2], padding: 'valid' });
  out.push({ ...base, kind: 'conv', h: 10, w: 12, k: [3, 3], out: 4, strides: [2, 2], padding: 'same' });
  out.push({ ...base, kind: 'conv', h: 11, w: 12, k: [4, 3], out: 2, strides: [3, 2], padding: 'same' });
  return out;
}

const name = (c: Case) => `${c.kind} ${c.n}x${c.h}x${c.w}x${c.c} k${c.k} ${c.kind === 'conv' ? 'out' : 'mult'}${c.out} s${c.strides} ${c.padding} d${c.dil} ${c.bias ? 'bias ' : ''}${c.act}`;

function data(c: Case, seed: number) {
  const r = rng(seed);
  const fill = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  return {
    x: fill(c.n * c.h * c.w * c.c, 3),
    f: fill(c.k[0] * c.k[1] * c.c * c.out),
    b: fill(c.kind === 'conv' ? c.out : c.c * c.out),
  };
}

/** Reference: plain tf ops, differentiated by tf itself (run on cpu). */
function reference(c: Case, d: ReturnType<typeof data>) {
  const x = tf.tensor4d(d.x, [c.n, c.h, c.w, c.c]);
  // tf cannot differentiate dilated convs: the reference uses the equivalent zero-inserted filter.
  const f = dilateFilter(tf.tensor4d(d.f, [c.k[0], c.k[1], c.c, c.out]), c.dil);
  const b = tf.tensor1d(d.b);
  const fwd = (t: tf.Tensor4D) => {
    let y: tf.Tensor = c.kind === 'conv' ? tf.conv2d(t, f, c.strides, c.padding) : tf.depthwiseConv2d(t, f, c.strides, c.padding);
    if (c.bias) y = tf.add(y, b);
    return c.act === 'relu' ? tf.relu(y) : c.act === 'relu6' ? tf.relu6(y) : y;
  };
  return probe(fwd, x);
}

function dilateFilter(f: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, c, m] = f.shape;
  if (dh === 1 && dw === 1) return f;
  const buf = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, c, m]);
  const v = f.arraySync();
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let a = 0; a < c; a++) for (let b = 0; b < m; b++) buf.set(v[i]![j]![a]![b]!, i * dh, j * dw, a, b);
  return buf.toTensor() as tf.Tensor4D;
}

/** Forward value and gradient of Σ y·w for a fixed random w (so every output position matters). */
function probe(fwd: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D): tf.Tensor[] {
  const y = fwd(x);
  const r = rng(99);
  const w = tf.tensor(
    Float32Array.from({ length: y.size }, () => r() * 2 - 1),
    y.shape,
  );
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fwd(t as tf.Tensor4D), w)))(x);
  return [y, g];
}

function underTest(c: Case, d: ReturnType<typeof data>) {
  const x = tf.tensor4d(d.x, [c.n, c.h, c.w, c.c]);
  const f = tf.tensor4d(d.f, [c.k[0], c.k[1], c.c, c.out]);
  const conv = makeConv({ kind: c.kind, filter: f, strides: c.strides, padding: c.padding, dilations: c.dil, bias: c.bias ? tf.tensor1d(d.b) : undefined, activation: c.act });
  try {
    return probe((t) => conv.apply(t), x);
  } finally {
    conv.dispose();
  }
}

describe('conv-ops: forward-conv input gradients equal the cpu backend autodiff', () => {
  before(async () => {
    await selectBackend('wasm');
  });
  cases().forEach((c, i) => {
    it(name(c), async () => {
      const d = data(c, 100 + i);
      const [refY, refG] = await onBackend('cpu', () => reference(c, d));
      for (const backend of ['wasm', 'cpu']) {
        const [y, g] = await onBackend(backend, () => underTest(c, d));
        assert.ok(relErr(y!, refY!) < 1e-5, `${backend} forward: rel err ${relErr(y!, refY!)}`);
        assert.ok(relErr(g!, refG!) < 1e-4, `${backend} input gradient: rel err ${relErr(g!, refG!)}`);
      }
    });
  });
});

describe('pooling gradients on wasm equal the cpu backend', () => {
  before(async () => {
    await selectBackend('wasm');
  });
  const poolCases: { shape: [number, number, number, number]; size: [number, number]; strides: [number, number]; padding: 'same' | 'valid'; shift: number }[] = [
    { shape: [2, 8, 8, 3], size: [2, 2], strides: [2, 2], padding: 'valid', shift: -4 },
    { shape: [1, 9, 7, 2], size: [3, 3], strides: [2, 2], padding: 'same', shift: -4 },
    { shape: [1, 9, 11, 4], size: [3, 3], strides: [1, 1], padding: 'same', shift: 0 },
    { shape: [2, 7, 7, 2], size: [3, 2], strides: [2, 1], padding: 'valid', shift: -1 },
  ];
  for (const p of poolCases) {
    const label = `${p.shape} pool ${p.size} s${p.strides} ${p.padding}, inputs shifted by ${p.shift}`;
    const values = () => {
      const r = rng(p.shape.reduce((a, b) => a * b));
      return Float32Array.from({ length: p.shape.reduce((a, b) => a * b) }, () => r() * 2 - 1 + p.shift);
    };
    it(`max pool: ${label}`, async () => {
      const v = values();
      const [refY, refG] = await onBackend('cpu', () => probe((t) => tf.maxPool(t, p.size, p.strides, p.padding), tf.tensor4d(v, p.shape)));
      for (const backend of ['wasm', 'cpu']) {
        const [y, g] = await onBackend(backend, () => probe((t) => maxPool(t, { size: p.size, strides: p.strides, padding: p.padding }), tf.tensor4d(v, p.shape)));
        assert.ok(relErr(y!, refY!) < 1e-6, `${backend} forward: rel err ${relErr(y!, refY!)}`);
        assert.ok(relErr(g!, refG!) < 1e-5, `${backend} gradient: rel err ${relErr(g!, refG!)}`);
      }
    });
    it(`avg pool (wasm's own AvgPoolGrad): ${label}`, async () => {
      const v = values();
      const [refY, refG] = await onBackend('cpu', () => probe((t) => tf.avgPool(t, p.size, p.strides, p.padding), tf.tensor4d(v, p.shape)));
      const [y, g] = await onBackend('wasm', () => probe((t) => tf.avgPool(t, p.size, p.strides, p.padding), tf.tensor4d(v, p.shape)));
      assert.ok(relErr(y!, refY!) < 1e-6, `forward: rel err ${relErr(y!, refY!)}`);
      assert.ok(relErr(g!, refG!) < 1e-5, `gradient: rel err ${relErr(g!, refG!)}`);
    });
  }
  it("max pool with tied maxima, ≤ 0 and > 0: each window's gradient lands on one of its maxima (cpu: the first, as TF)", async () => {
    const r = rng(5);
    // Integers in [-3, 1]: most 3×3 windows hold several equal maxima.
    const v = Float32Array.from({ length: 2 * 9 * 9 * 3 }, () => Math.floor(r() * 5) - 3);
    const run = (pool: (t: tf.Tensor4D) => tf.Tensor) => () => {
      const [y, g] = probe(pool, tf.tensor4d(v, [2, 9, 9, 3]));
      // Whichever tied maximum a window's gradient goes to: Σ g = Σ w and Σ g·x = Σ w·max (w: probe's weights).
      return [y!, g!, tf.sum(g!), tf.sum(tf.mul(g!, tf.tensor4d(v, [2, 9, 9, 3])))];
    };
    const [, refG, refSum, refDot] = await onBackend(
      'cpu',
      run((t) => tf.maxPool(t, 3, 2, 'same')),
    );
    for (const backend of ['wasm', 'cpu']) {
      const [, g, sum, dot] = await onBackend(
        backend,
        run((t) => maxPool(t, { size: [3, 3], strides: [2, 2], padding: 'same' })),
      );
      assert.ok(Math.abs(sum![0]! - refSum![0]!) < 1e-4 && Math.abs(dot![0]! - refDot![0]!) < 1e-4, `${backend}: Σg ${sum![0]} vs ${refSum![0]}, Σg·x ${dot![0]} vs ${refDot![0]}`);
      if (backend === 'cpu') assert.ok(relErr(g!, refG!) < 1e-6, `cpu gradient: rel err ${relErr(g!, refG!)}`);
    }
  });
  it("documents why: wasm's own MaxPoolGrad loses windows whose max is ≤ 0", async () => {
    const v = Float32Array.from({ length: 16 }, (_, i) => -1 - i / 16);
    const f = () => probe((t) => tf.maxPool(t, 2, 2, 'valid'), tf.tensor4d(v, [1, 4, 4, 1]));
    const [, refG] = await onBackend('cpu', f);
    const [, g] = await onBackend('wasm', f);
    // If this starts failing, wasm fixed its kernel and pool-ops could go.
    assert.ok(relErr(g!, refG!) > 0.5, `wasm MaxPoolGrad now matches cpu (rel err ${relErr(g!, refG!)})`);
  });
});
