import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/data/random.js';
import { SampleObserver } from '../../src/calibrate/sample.js';
import { batches } from './helpers.js';

const ramp = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('Rng (splitmix32)', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[r.nextBelow(10)]++;
    for (const k of counts) expect(Math.abs(k - 10_000)).toBeLessThan(400); // ≈ 4σ
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      const o = r.nextOpen();
      expect(o > 0 && o < 1).toBe(true);
    }
  });

  it('Gamma(a) has mean a and variance a (Marsaglia–Tsang)', () => {
    const r = new Rng(9);
    for (const a of [1, 5, 1000]) {
      let m = 0;
      let m2 = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const g = r.nextGamma(a);
        m += g / n;
        m2 += (g * g) / n;
      }
      expect(Math.abs(m / a - 1)).toBeLessThan(5 / Math.sqrt(n * a)); // 5σ
      expect(Math.abs((m2 - m * m) / a - 1)).toBeLessThan(0.06);
    }
  });
});

describe('SampleObserver (reservoir: Algorithm R’s distribution, drawn with Algorithm L)', () => {
  it('keeps everything while it fits, in order, skipping NaN', () => {
    const s = new SampleObserver(10, 1);
    s.observe(Float32Array.of(1, NaN, 2, 3));
    expect([...s.values()]).toEqual([1, 2, 3]);
    expect(s.seen).toBe(3);
  });

  it('is deterministic for a seed and independent of batching', () => {
    const x = ramp(50_000);
    const a = new SampleObserver(500, 7);
    a.observe(x);
    const b = new SampleObserver(500, 7);
    for (const p of batches(x, 37)) b.observe(p);
    const c = new SampleObserver(500, 8);
    c.observe(x);
    expect(b.values()).toEqual(a.values());
    expect(c.values()).not.toEqual(a.values());
    expect(a.values().length).toBe(500);
    expect(a.seen).toBe(50_000);
  });

  it('is roughly uniform over the stream (deciles, mean)', () => {
    const n = 200_000;
    const s = new SampleObserver(2000, 3);
    for (const p of batches(ramp(n), 10)) s.observe(p);
    const v = s.values();
    const deciles = new Array(10).fill(0);
    let mean = 0;
    for (const x of v) {
      deciles[Math.floor((x * 10) / n)]++;
      mean += x / v.length;
    }
    const chi2 = deciles.reduce((a, k) => a + (k - 200) ** 2 / 200, 0);
    expect(chi2).toBeLessThan(27.9); // χ²(9 dof) at p = 0.001
    expect(Math.abs(mean / n - 0.5)).toBeLessThan(0.02); // σ of the mean ≈ 0.0065
  });

  it('merges weighted by what each side saw', () => {
    const a = new SampleObserver(2000, 1);
    a.observe(new Float32Array(30_000)); // zeros
    const b = new SampleObserver(2000, 2);
    b.observe(new Float32Array(70_000).fill(1)); // ones
    a.merge(b);
    expect(a.seen).toBe(100_000);
    const v = a.values();
    expect(v.length).toBe(2000);
    const ones = v.reduce((k, x) => k + x, 0) / v.length;
    expect(Math.abs(ones - 0.7)).toBeLessThan(0.04); // hypergeometric σ ≈ 0.01
  });

  it('a long stream: each value kept with probability k/n (k = 100, n = 10⁶, 20 batches)', () => {
    const n = 1_000_000;
    const hits = new Array(10).fill(0);
    const parts = batches(ramp(n), 20);
    for (let seed = 0; seed < 20; seed++) {
      const s = new SampleObserver(100, seed);
      for (const p of parts) s.observe(p);
      for (const x of s.values()) hits[Math.floor((x * 10) / n)]++;
    }
    const chi2 = hits.reduce((a, k) => a + (k - 200) ** 2 / 200, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('keeps sampling uniformly after a merge', () => {
    const a = new SampleObserver(3000, 1);
    a.observe(ramp(30_000));
    const b = new SampleObserver(3000, 2);
    b.observe(ramp(70_000, 30_000));
    a.merge(b);
    a.observe(ramp(100_000, 100_000));
    expect(a.seen).toBe(200_000);
    const deciles = new Array(10).fill(0);
    for (const x of a.values()) deciles[Math.floor(x / 20_000)]++;
    const chi2 = deciles.reduce((s, k) => s + (k - 300) ** 2 / 300, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('merge of small samples is the concatenation; capacities must match', () => {
    const a = new SampleObserver(10, 1);
    a.observe(Float32Array.of(1, 2));
    const b = new SampleObserver(10, 2);
    b.observe(Float32Array.of(3));
    a.merge(b);
    expect([...a.values()]).toEqual([1, 2, 3]);
    expect(() => a.merge(new SampleObserver(11))).toThrow(/capacity/);
  });

  it('merged sample stays uniform over the union (ramps 0…30k and 30k…100k)', () => {
    const a = new SampleObserver(4000, 5);
    a.observe(ramp(30_000));
    const b = new SampleObserver(4000, 6);
    b.observe(ramp(70_000, 30_000));
    a.merge(b);
    const deciles = new Array(10).fill(0);
    for (const x of a.values()) deciles[Math.floor(x / 10_000)]++;
    const chi2 = deciles.reduce((s, k) => s + (k - 400) ** 2 / 400, 0);
    expect(chi2).toBeLessThan(27.9);
  });
});
