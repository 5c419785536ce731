import { describe, expect, it } from 'vitest';
import { entropy, entropyAbsSearch } from '../../src/calibrate/entropy.js';
import { HistogramObserver } from '../../src/calibrate/histogram.js';
import { MinMaxObserver } from '../../src/calibrate/minmax.js';
import type { TensorStats } from '../../src/calibrate/observer.js';
import { percentileAbs } from '../../src/calibrate/percentile.js';
import type { QuantSpec } from '../../src/quant/spec.js';
import { gaussian, laplace, nvidiaEntropyIndex, relu, uniform, withOutliers } from './helpers.js';

function statsOf(x: Float32Array): TensorStats {
  const m = new MinMaxObserver();
  m.observe(x);
  const h = HistogramObserver.forRange(m.min, m.max);
  h.observe(x);
  return { min: m.min, max: m.max, histogram: h };
}

const INT8_SYM: QuantSpec = { dtype: 'int8', symmetric: true };
const UINT8: QuantSpec = { dtype: 'uint8', symmetric: false };
const N = 1_000_000;

const cases: [string, () => Float32Array][] = [
  ['gaussian', () => gaussian(N, 1)],
  ['laplace', () => laplace(N, 2)],
  ['uniform', () => uniform(N, 3)],
  ['relu(gaussian)', () => relu(gaussian(N, 4))],
  ['gaussian + 20 outliers at 30–60σ', () => withOutliers(gaussian(N, 5), 20, 30, 6)],
  ['laplace, 20k values', () => laplace(20_000, 7)],
  ['gaussian, 1000 values (sparse bins, +∞ candidates)', () => gaussian(1000, 8)],
  ['gaussian on a lattice of step σ/20 (empty bins between)', () => gaussian(200_000, 9).map((v) => Math.round(v * 20) / 20)],
];

describe('entropy: the same bin as NVIDIA pytorch-quantization _compute_amax_entropy', () => {
  for (const [name, make] of cases) {
    it(name, () => {
      const abs = statsOf(make()).histogram!.absHistogram();
      expect(entropyAbsSearch(abs, 128).bin).toBe(nvidiaEntropyIndex(abs, 8, false)); // int8
      expect(entropyAbsSearch(abs, 256).bin).toBe(nvidiaEntropyIndex(abs, 8, true)); // unsigned 8-bit
    });
  }

  it('formula histograms, against numpy running NVIDIA’s steps', () => {
    // Bins i* computed with /usr/bin/python3 + numpy 1.24 running the steps of _compute_amax_entropy
    // (scipy.stats.entropy written out as normalise + Σ rel_entr) on the same formulas.
    const f1 = Float64Array.from({ length: 2048 }, (_, j) => {
      let c = Math.floor(1e6 * Math.exp(-j / 150)) + (j % 37 === 0 ? 5 : 0);
      if (j >= 1500 && j < 1600) c = 0;
      if (j === 2047) c = 3;
      return c;
    });
    const f2 = Float64Array.from({ length: 2048 }, (_, j) => Math.floor(1e5 * Math.exp(-(((j - 300) / 120) ** 2))) + Math.floor(2e3 * Math.exp(-(((j - 1700) / 40) ** 2))));
    expect(f1.reduce((a, b) => a + b, 0)).toBe(150496329); // same input as numpy's
    expect(f2.reduce((a, b) => a + b, 0)).toBe(21406524);
    expect([nvidiaEntropyIndex(f1, 8, false), nvidiaEntropyIndex(f1, 8, true)]).toEqual([1500, 1856]);
    expect([entropyAbsSearch(f1, 128).bin, entropyAbsSearch(f1, 256).bin]).toEqual([1500, 1856]);
    expect([entropyAbsSearch(f2, 128).bin, entropyAbsSearch(f2, 256).bin, entropyAbsSearch(f2, 8).bin]).toEqual([1784, 1798, 538]);
  });

  it('differs on purpose where NVIDIA’s KL is NaN (no counts below i): those candidates are +∞, not chosen', () => {
    // 90% at 0.25, 10% at 3: |x|-bins below 170 are empty, so NVIDIA's Q is 0/0 for i ≤ 170 and np.argmin
    // returns the NaN at i = 170 (amax 0.249, clipping everything). We pick 2048 (amax = 3).
    const s = statsOf(new Float32Array(10_000).map((_, i) => (i % 10 === 0 ? 3 : 0.25)));
    const abs = s.histogram!.absHistogram();
    expect(nvidiaEntropyIndex(abs, 8, false)).toBe(170);
    expect(entropyAbsSearch(abs, 128).bin).toBe(2048);
    expect(entropy.range(s, INT8_SYM, {})).toEqual({ min: -3, max: 3 });
  });

  it('does not modify the histogram (bins[0] := bins[1] on a copy)', () => {
    const s = statsOf(relu(gaussian(10_000, 11)));
    const before = s.histogram!.absHistogram();
    entropy.range(s, INT8_SYM, {});
    expect(s.histogram!.absHistogram()).toEqual(before);
  });
});

describe('entropy: thresholds where the literature puts them', () => {
  it('Gaussian: amax between the 99th percentile and max, ≈ 4.6σ for 10⁶ values at 8 bits', () => {
    const s = statsOf(gaussian(N, 21));
    const r = entropy.range(s, INT8_SYM, {});
    const p99 = percentileAbs(s.histogram!, 99);
    // Measured: amax 4.56σ, max 4.94σ, p99 2.57σ.
    expect(r.max).toBeGreaterThan(p99);
    expect(r.max).toBeGreaterThan(3.5);
    expect(r.max).toBeLessThan(0.95 * s.max);
    expect(r.min).toBe(-r.max);
  });

  it('Laplace: amax well below max (measured ≈ 10.6b of max 13.5b at 8 bits)', () => {
    const s = statsOf(laplace(N, 22));
    const r = entropy.range(s, INT8_SYM, {});
    expect(r.max).toBeGreaterThan(percentileAbs(s.histogram!, 99.9));
    expect(r.max).toBeGreaterThan(8);
    expect(r.max).toBeLessThan(0.85 * s.max);
  });

  it('ignores rare outliers: Gaussian + 20 values at 30–60σ gets amax ≈ 4.4σ, not 60σ', () => {
    const s = statsOf(withOutliers(gaussian(N, 23), 20, 30, 24));
    const r = entropy.range(s, INT8_SYM, {});
    expect(r.max).toBeGreaterThan(3);
    expect(r.max).toBeLessThan(6);
  });

  it('fewer bits clip harder (4-bit amax < 8-bit amax)', () => {
    const s = statsOf(laplace(200_000, 25));
    const r8 = entropy.range(s, INT8_SYM, {});
    const r4 = entropy.range(s, { dtype: 'int4', symmetric: true }, {});
    expect(r4.max).toBeLessThan(0.7 * r8.max);
  });
});

describe('entropy: asymmetric specs (onnxq variant)', () => {
  it('non-negative tensors: the unsigned search on the positive side → [0, T]', () => {
    const s = statsOf(relu(gaussian(200_000, 31)));
    const r = entropy.range(s, UINT8, {});
    const abs = s.histogram!.absHistogram();
    expect(r).toEqual({ min: 0, max: s.histogram!.absEdge(nvidiaEntropyIndex(abs, 8, true)) });
  });

  it('non-positive tensors mirror: [−T, 0]', () => {
    const x = relu(gaussian(200_000, 31)).map((v) => -v);
    const s = statsOf(x);
    const r = entropy.range(s, UINT8, {});
    expect(r.max).toBe(0);
    expect(r.min).toBe(-s.histogram!.absEdge(nvidiaEntropyIndex(s.histogram!.absHistogram(), 8, true)));
  });

  it('mixed sign: a window that keeps the zero point of [min, max] and clips both tails', () => {
    // Laplace (b = 1) shifted by +2: tails on both sides, min ≈ −11, max ≈ 15.
    const s = statsOf(laplace(500_000, 32).map((v) => v + 2));
    const r = entropy.range(s, UINT8, {});
    expect(r.min).toBeLessThan(0);
    expect(r.min).toBeGreaterThan(0.9 * s.min);
    expect(r.max).toBeLessThan(0.9 * s.max);
    expect(r.max).toBeGreaterThan(percentileAbs(s.histogram!, 99.9));
    // Same ratio as the observed range, up to one bin of rounding on the short side.
    expect(Math.abs(-r.min / r.max - -s.min / s.max)).toBeLessThan(s.histogram!.width / r.max);
  });

  it('degenerate histogram (all zeros) → [0, 0]', () => {
    const s = statsOf(new Float32Array(100));
    expect(entropy.range(s, INT8_SYM, {})).toEqual({ min: 0, max: 0 });
    expect(entropy.range(s, UINT8, {})).toEqual({ min: 0, max: 0 });
  });
});

