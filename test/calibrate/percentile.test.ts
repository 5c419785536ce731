import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../../src/calibrate/histogram.js';
import { percentile, percentileAbs } from '../../src/calibrate/percentile.js';
import type { TensorStats } from '../../src/calibrate/observer.js';
import { gaussian } from './helpers.js';

const SYM = { dtype: 'int8', symmetric: true } as const;
const ASYM = { dtype: 'uint8', symmetric: false } as const;

/** 990 values at 0.5, 9 at −1.5, 1 at 3.5 on an 8-bin histogram of [−4, 4] (width 1). */
function known(): TensorStats {
  const x = new Float32Array(1000).fill(0.5);
  for (let i = 0; i < 9; i++) x[i] = -1.5;
  x[9] = 3.5;
  const h = new HistogramObserver(4, 8);
  h.observe(x);
  return { min: -1.5, max: 3.5, histogram: h };
}

describe('percentile', () => {
  it('symmetric: T = upper edge of the first |x|-bin reaching p% (|x| counts 990, 9, 0, 1)', () => {
    const s = known();
    expect([...s.histogram!.absHistogram()]).toEqual([990, 9, 0, 1]);
    expect(percentile.range(s, SYM, { percentile: 99 })).toEqual({ min: -1, max: 1 }); // 990 ≥ 990 in bin 0
    expect(percentile.range(s, SYM, { percentile: 99.9 })).toEqual({ min: -2, max: 2 }); // 999 in bin 1
    expect(percentile.range(s, SYM, { percentile: 99.95 })).toEqual({ min: -4, max: 4 }); // bin 3
    expect(percentile.range(s, SYM, { percentile: 100 })).toEqual({ min: -4, max: 4 });
    // ORT would return the lower edges 0, 1, 3 (edge[searchsorted(cdf, p/100)]).
  });

  it('asymmetric: at most (100 − p)/200 of the mass cut from each tail, clamped to [min, max]', () => {
    const s = known(); // signed bins: [−2,−1): 9, [0,1): 990, [3,4): 1
    // p = 98: 1% per side = 10 values. Left: 9 ≤ 10 cut → starts at 0. Right: 1 ≤ 10 cut → ends at 1.
    expect(percentile.range(s, ASYM, { percentile: 98 })).toEqual({ min: 0, max: 1 });
    // p = 99.5: 2.5 values per side: left keeps [−2, …) (9 > 2.5), right drops the 3.5 → ends at 1.
    expect(percentile.range(s, ASYM, { percentile: 99.5 })).toEqual({ min: -1.5, max: 1 });
    // p = 100: nothing cut: [−2, 4] clamped to [−1.5, 3.5].
    expect(percentile.range(s, ASYM, { percentile: 100 })).toEqual({ min: -1.5, max: 3.5 });
  });

  it('default 99.999 (ORT); Gaussian 99% of |x| at ≈ 2.576σ', () => {
    const x = gaussian(1_000_000, 12);
    const h = new HistogramObserver(6);
    h.observe(x);
    expect(Math.abs(percentileAbs(h, 99) - 2.5758)).toBeLessThan(0.01);
    const s: TensorStats = { min: -6, max: 6, histogram: h };
    const def = percentile.range(s, SYM, {});
    expect(def).toEqual(percentile.range(s, SYM, { percentile: 99.999 }));
    expect(def.max).toBeGreaterThan(4);
  });

  it('rejects percentiles outside (0, 100] and missing histograms; degenerate → [0, 0]', () => {
    expect(() => percentile.range(known(), SYM, { percentile: 0 })).toThrow(/outside/);
    expect(() => percentile.range(known(), SYM, { percentile: 101 })).toThrow(/outside/);
    expect(() => percentile.range({ min: 0, max: 1 }, SYM, {})).toThrow(/histogram/);
    const h = new HistogramObserver(0);
    h.observe(new Float32Array(5));
    expect(percentile.range({ min: 0, max: 0, histogram: h }, SYM, {})).toEqual({ min: 0, max: 0 });
  });
});
