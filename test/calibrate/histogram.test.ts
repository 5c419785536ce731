import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../../src/calibrate/histogram.js';
import { batches, gaussian, laplace } from './helpers.js';

describe('HistogramObserver', () => {
  it('places values in bins [edge(j), edge(j+1)), out-of-range and ±Infinity in the end bins, NaN nowhere', () => {
    const h = new HistogramObserver(2, 4); // width 1: [−2,−1) [−1,0) [0,1) [1,2)
    h.observe(Float32Array.of(-2, -1.5, -1, -0.5, 0, 0.999, 1, 1.5, 2, 5, -7, Infinity, -Infinity, NaN));
    expect([...h.counts]).toEqual([
      4, // −2, −1.5, −7, −Infinity
      2, // −1, −0.5
      2, // 0, 0.999
      5, // 1, 1.5, 2 (= absmax), 5, Infinity
    ]);
    expect(h.total).toBe(13);
    expect([...h.edges()]).toEqual([-2, -1, 0, 1, 2]);
    expect(h.width).toBe(1);
  });

  it('folds into the |x| histogram: |x|-bin k = signed bins half+k and half−1−k', () => {
    const h = new HistogramObserver(2, 4);
    h.observe(Float32Array.of(-1.5, -0.5, -0.25, 0, 0.5, 1.5, 1.75));
    expect([...h.counts]).toEqual([1, 2, 2, 2]);
    expect([...h.absHistogram()]).toEqual([4, 3]); // |x| ∈ [0,1): −0.5, −0.25, 0, 0.5; [1,2): −1.5, 1.5, 1.75
    expect([h.absEdge(0), h.absEdge(1), h.absEdge(2)]).toEqual([0, 1, 2]);
  });

  it('default: 4096 signed bins → 2048 |x| bins; zero lands exactly on the middle edge', () => {
    const h = HistogramObserver.forRange(-3, 1);
    expect(h.absmax).toBe(3);
    expect(h.bins).toBe(4096);
    h.observe(Float32Array.of(0, 0, 0));
    expect(h.counts[2048]).toBe(3);
    expect(h.absHistogram().length).toBe(2048);
    expect(h.absHistogram()[0]).toBe(3);
    expect(h.edge(2048)).toBe(0);
    expect(h.edge(4096)).toBe(3);
    expect(h.edge(0)).toBe(-3);
  });

  it('short and long arrays (two code paths) count alike', () => {
    const x = laplace(100_000, 3);
    const a = new HistogramObserver(15);
    a.observe(x);
    const b = new HistogramObserver(15);
    for (const part of batches(x, 1000)) b.observe(part); // 100 values each: the short path
    expect(b.counts).toEqual(a.counts);
    expect(b.total).toBe(a.total);
    expect(a.total).toBe(100_000);
  });

  it('merge equals observing the concatenation', () => {
    const x = gaussian(20_001, 4);
    const y = laplace(30_000, 5);
    const both = new Float32Array(x.length + y.length);
    both.set(x);
    both.set(y, x.length);
    const a = new HistogramObserver(6);
    a.observe(x);
    const b = new HistogramObserver(6);
    b.observe(y);
    a.merge(b);
    const c = new HistogramObserver(6);
    c.observe(both);
    expect(a.counts).toEqual(c.counts);
    expect(a.total).toBe(c.total);
  });

  it('merges histograms with different edges by spreading counts over the overlapping bins', () => {
    const a = new HistogramObserver(2, 4); // bins of width 1 on [−2, 2]
    a.observe(Float32Array.of(0.5, -1.5));
    const b = new HistogramObserver(1, 4); // bins of width 0.5 on [−1, 1]
    b.observe(Float32Array.of(0.25, 0.75, -0.25));
    a.merge(b);
    expect(Array.from(a.counts)).toEqual([1, 1, 3, 0]);
    expect(a.total).toBe(5);
  });

  it('absmax = 0: a degenerate histogram that still counts (zeros in the middle, the rest at the ends)', () => {
    const h = HistogramObserver.forRange(0, 0);
    expect(h.degenerate).toBe(true);
    h.observe(Float32Array.of(0, 0, -0, 1, -1, NaN));
    expect(h.counts[2048]).toBe(3);
    expect(h.counts[0]).toBe(1);
    expect(h.counts[4095]).toBe(1);
    expect(h.total).toBe(5);
    expect(HistogramObserver.forRange(Infinity, -Infinity).absmax).toBe(0); // nothing seen in pass 1
  });

  it('rejects a non-finite half-width and odd bin counts', () => {
    expect(() => new HistogramObserver(Infinity)).toThrow(/finite/);
    expect(() => new HistogramObserver(NaN)).toThrow(/finite/);
    expect(() => new HistogramObserver(1, 7)).toThrow(/even/);
  });
});

describe('growing HistogramObserver (one pass, pytorch-quantization style)', () => {
  const absmaxOf = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const feed = (h: HistogramObserver, v: Float32Array) => {
    h.cover(absmaxOf(v));
    h.observe(v);
  };

  it('the first batch sets the width; later batches add bins of that width, counts stay where they were', () => {
    const a = Float32Array.from(gaussian(5000, 1)); // |x| up to about 4
    const b = Float32Array.from(gaussian(5000, 2), (v) => 3 * v); // reaches about 3× further
    const h = HistogramObserver.growing();
    feed(h, a);
    const width = h.width;
    expect(h.bins).toBe(4096);
    expect(width).toBeCloseTo(absmaxOf(a) / 2048, 12);
    feed(h, b);
    expect(h.width).toBe(width);
    expect(h.absmax).toBeGreaterThanOrEqual(absmaxOf(b));
    // The same counts as a fixed histogram with this width over the final extent (up to values that sit
    // within an ulp of an edge, which the two scales, 1/width and bins/(2·absmax), may place apart).
    const fixed = new HistogramObserver(h.absmax, h.bins);
    fixed.observe(a);
    fixed.observe(b);
    const moved = h.counts.reduce((s, c, j) => s + Math.abs(c - fixed.counts[j]!), 0) / 2;
    expect(moved).toBeLessThanOrEqual(2);
    expect(h.total).toBe(10000);
  });

  it('merges neighbouring bins when the range grows past 8192 bins a side, keeping every count', () => {
    const h = HistogramObserver.growing();
    feed(h, Float32Array.of(0.001, -0.0005, 0));
    feed(h, Float32Array.of(50, -20, 0.3));
    expect(h.bins / 2).toBeLessThanOrEqual(8192);
    expect(h.absmax).toBeGreaterThanOrEqual(50);
    expect(h.counts.reduce((s, c) => s + c, 0)).toBe(6);
    // 0 and the tiny values stay on their sides of zero.
    const half = h.bins / 2;
    expect(h.counts[half]).toBe(2); // 0 and 0.001 land in the first bin above zero (now 1/128 wide)
    expect(h.counts[half - 1]).toBe(1); // −0.0005 in the first bin below
  });

  it('zeros seen before any non-zero batch are kept', () => {
    const h = HistogramObserver.growing();
    feed(h, new Float32Array(10));
    expect(h.degenerate).toBe(true);
    feed(h, Float32Array.of(1, -1));
    expect(h.total).toBe(12);
    expect(h.counts[h.bins / 2]).toBe(10);
  });
});
