/**
 * The calibration loop's probes (src/calibrate/probes.ts): tensors of one size stacked and reduced
 * together give each tensor exactly its own min, max and strided subsample; large tensors are observed
 * alone; and a tensor whose size
 * changes between samples (inputs of varying shapes) makes the loop fall back to one tensor per stack
 * without losing a batch.
 */
import { describe, expect, it } from 'vitest';
import { collectStats } from '../../src/calibrate/collect.js';
import { Probes } from '../../src/calibrate/probes.js';
import { needsOf } from '../../src/calibrate/methods.js';
import { memorySource } from '../../src/data/memory.js';
import type { Sample } from '../../src/data/source.js';
import { buildModel, randomFloats } from '../helpers/build.js';

/** x [1, W] → a = Relu(x), n = Neg(x), m = ReduceMax(x) [1, 1], s = Sigmoid(m): a and n always match, m and s match x only when W = 1. */
const model = () =>
  buildModel({
    inputs: [{ name: 'x', dims: [1, 'W'] }],
    outputs: [{ name: 'a' }, { name: 'n' }, { name: 's' }],
    nodes: [
      { opType: 'Relu', inputs: ['x'], outputs: ['a'] },
      { opType: 'Neg', inputs: ['x'], outputs: ['n'] },
      { opType: 'ReduceMax', inputs: ['x'], outputs: ['m'], attrs: { axes: [1], keepdims: 1 } },
      { opType: 'Sigmoid', inputs: ['m'], outputs: ['s'] },
    ],
  });

const sample = (data: Float32Array): Sample => ({ x: { dtype: 'float32', dims: [1, data.length], data } });

/** What each tensor should have seen, computed here. */
function expected(xs: Float32Array[]) {
  const all = (f: (x: Float32Array) => number[]) => xs.flatMap((x) => f(x));
  const range = (v: number[]) => ({ min: Math.fround(v.reduce((a, b) => Math.min(a, b))), max: Math.fround(v.reduce((a, b) => Math.max(a, b))) });
  const max = (x: Float32Array) => x.reduce((a, b) => Math.max(a, b));
  return {
    x: range(all((x) => [...x])),
    a: range(all((x) => [...x].map((v) => Math.max(v, 0)))),
    n: range(all((x) => [...x].map((v) => -v))),
    m: range(all((x) => [max(x)])),
    s: range(all((x) => [1 / (1 + Math.exp(-max(x)))])),
  };
}

describe('calibration probes', () => {
  const tensors = ['x', 'a', 'n', 'm', 's'];

  it('stacks tensors of one size and still gives each its own min and max', async () => {
    const xs = [0, 1, 2].map((k) => randomFloats(300, k + 1, -2, 3));
    const sizes = new Map(tensors.map((t) => [t, t === 'm' || t === 's' ? 1 : 300]));
    const stats = await collectStats(model(), tensors, memorySource(xs.map(sample)), [0, 1, 2], { needs: needsOf(['minmax']), sizes });
    const want = expected(xs);
    for (const t of tensors) {
      expect(stats.get(t)!.min, t).toBeCloseTo(want[t as keyof typeof want].min, 6);
      expect(stats.get(t)!.max, t).toBeCloseTo(want[t as keyof typeof want].max, 6);
    }
  });

  it('observes large tensors alone (no copy into a stack) and small ones stacked, with exact ranges and every subsample', async () => {
    const W = 70_000; // past the 65,536 values up to which tensors are stacked
    const xs = [0, 1].map((k) => randomFloats(W, k + 3, -2, 3));
    const sizes = new Map(tensors.map((t) => [t, t === 'm' || t === 's' ? 1 : W]));
    const add = new Probes(model(), {}, tensors, sizes, 4096).augmentation(true, true);
    const concatenated = add.nodes.filter((n) => n.opType === 'Concat').flatMap((n) => n.input);
    expect(concatenated.filter((i) => /^(x|a|n)__onnxq_row$/.test(i))).toEqual([]);
    expect(concatenated).toEqual(expect.arrayContaining(['m__onnxq_row', 's__onnxq_row']));

    const stats = await collectStats(model(), tensors, memorySource(xs.map(sample)), [0, 1], { needs: needsOf(['entropy']), sizes });
    const want = expected(xs);
    // Every 18th value (⌈70,000 / 4096⌉) from offset 0, then from offset 1.
    const seen = Math.ceil(W / 18) + Math.ceil((W - 1) / 18);
    for (const t of tensors) {
      expect(stats.get(t)!.min, t).toBeCloseTo(want[t as keyof typeof want].min, 6);
      expect(stats.get(t)!.max, t).toBeCloseTo(want[t as keyof typeof want].max, 6);
      expect(stats.get(t)!.histogram!.total, t).toBe(t === 'm' || t === 's' ? 2 : seen);
    }
  });

  it('falls back to one tensor per stack when sizes change between samples, and keeps every batch', async () => {
    // Sample 0 has W = 1, so x, a, n, m and s all hold one value and share a stack; sample 1 breaks it.
    const xs = [Float32Array.of(0.5), randomFloats(64, 9, -1, 1), randomFloats(16, 10, -4, 4)];
    const sizes = new Map(tensors.map((t) => [t, 1]));
    const stats = await collectStats(model(), tensors, memorySource(xs.map(sample)), [0, 1, 2], { needs: needsOf(['percentile']), sizes, valuesPerSample: 8 });
    const want = expected(xs);
    for (const t of tensors) {
      expect(stats.get(t)!.min, t).toBeCloseTo(want[t as keyof typeof want].min, 6);
      expect(stats.get(t)!.max, t).toBeCloseTo(want[t as keyof typeof want].max, 6);
      // Histograms saw every sample: 1 + 64 + 16 values of x (sizes said 1: seen whole).
      if (t === 'x') expect(stats.get(t)!.histogram!.total).toBe(81);
    }
  });
});
