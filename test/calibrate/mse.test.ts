import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../../src/calibrate/histogram.js';
import { MinMaxObserver } from '../../src/calibrate/minmax.js';
import { HistogramError, mse } from '../../src/calibrate/mse.js';
import type { Range, TensorStats } from '../../src/calibrate/observer.js';
import { paramsFromRanges } from '../../src/quant/params.js';
import { fakeQuantize } from '../../src/quant/quantize.js';
import type { QuantSpec } from '../../src/quant/spec.js';
import { gaussian, laplace, relu } from './helpers.js';

function statsOf(x: Float32Array): TensorStats {
  const m = new MinMaxObserver();
  m.observe(x);
  const h = HistogramObserver.forRange(m.min, m.max);
  h.observe(x);
  return { min: m.min, max: m.max, histogram: h };
}

/** Mean squared error of actually quantizing x with the parameters of range r (src/quant). */
function measured(x: Float32Array, r: Range, spec: QuantSpec): number {
  const y = fakeQuantize(x, [x.length], paramsFromRanges([r.min], [r.max], spec));
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - y[i]!) ** 2;
  return s / x.length;
}

function bruteForce(x: Float32Array, candidates: Range[], spec: QuantSpec): { range: Range; err: number } {
  let best = { range: candidates[0]!, err: Infinity };
  for (const r of candidates) {
    const err = measured(x, r, spec);
    if (err < best.err) best = { range: r, err };
  }
  return best;
}

const INT8_SYM: QuantSpec = { dtype: 'int8', symmetric: true };
const UINT8: QuantSpec = { dtype: 'uint8', symmetric: false };
const INT4_SYM: QuantSpec = { dtype: 'int4', symmetric: true };

describe('mse', () => {
  it('Gaussian, int8 symmetric: lower error than minmax, within 0.5% of a brute-force search on the raw values', () => {
    const x = gaussian(50_000, 41);
    const s = statsOf(x);
    const r = mse.range(s, INT8_SYM, {});
    const ours = measured(x, r, INT8_SYM);
    const minmax = measured(x, { min: s.min, max: s.max }, INT8_SYM);
    const grid = Array.from({ length: 1000 }, (_, i) => {
      const t = 1 + ((s.max - 1) * i) / 999;
      return { min: -t, max: t };
    });
    const best = bruteForce(x, grid, INT8_SYM);
    expect(ours).toBeLessThan(minmax);
    expect(ours).toBeLessThan(best.err * 1.005);
  });

  it('Laplace, int4 symmetric: clips hard, close to the brute-force best', () => {
    const x = laplace(50_000, 42);
    const s = statsOf(x);
    const r = mse.range(s, INT4_SYM, {});
    const ours = measured(x, r, INT4_SYM);
    const minmax = measured(x, { min: s.min, max: s.max }, INT4_SYM);
    const grid = Array.from({ length: 1000 }, (_, i) => {
      const t = 0.5 + ((s.max - 0.5) * i) / 999;
      return { min: -t, max: t };
    });
    const best = bruteForce(x, grid, INT4_SYM);
    expect(ours).toBeLessThan(minmax);
    expect(ours).toBeLessThan(best.err * 1.005);
  });

  it('shifted Laplace, uint8 asymmetric: close to the best common scaling of [min, max]', () => {
    const x = laplace(50_000, 43).map((v) => v + 2);
    const s = statsOf(x);
    const r = mse.range(s, UINT8, {});
    const ours = measured(x, r, UINT8);
    const minmax = measured(x, { min: s.min, max: s.max }, UINT8);
    const grid = Array.from({ length: 1000 }, (_, i) => {
      const t = 0.1 + (0.9 * i) / 999;
      return { min: t * s.min, max: t * s.max };
    });
    const best = bruteForce(x, grid, UINT8);
    expect(ours).toBeLessThan(minmax);
    expect(ours).toBeLessThan(best.err * 1.005);
  });

  it('ReLU output, uint8: [0, T] close to the brute-force best', () => {
    const x = relu(gaussian(50_000, 44));
    const s = statsOf(x);
    const r = mse.range(s, UINT8, {});
    expect(r.min).toBe(0);
    const ours = measured(x, r, UINT8);
    const grid = Array.from({ length: 1000 }, (_, i) => ({ min: 0, max: 0.5 + ((s.max - 0.5) * i) / 999 }));
    const best = bruteForce(x, grid, UINT8);
    expect(ours).toBeLessThan(best.err * 1.005);
  });
});

describe('HistogramError (the closed form behind mse)', () => {
  it('hand-computed: uniform bins against a 3-level quantizer', () => {
    // Bins of width 1 on [−2, 2]; one value in [0, 1) and one in [1, 2). s = 1, z = 0, q ∈ [−1, 1]:
    // [0, 1): ∫₀^½ x² + ∫_½^1 (x − 1)² = 1/24 + 1/24; [1, 2) clipped to 1: ∫₁² (x − 1)² = 1/3.
    const h = new HistogramObserver(2, 4);
    h.observe(Float32Array.of(0.3, 1.7));
    const e = new HistogramError(h);
    expect(e.error(1, 0, -1, 1)).toBeCloseTo(1 / 12 + 1 / 3, 12);
    // s = ¼: both bins lie beyond the clip point ¼ … except [0, 1) which starts inside:
    // [0, 1): ∫₀^⅛ x² + ∫_⅛^1 (x − ¼)² ; [1, 2): ∫₁² (x − ¼)² = (1.75³ − 0.75³)/3 (closed-form tail).
    const inner = 0.125 ** 3 / 3 + (0.75 ** 3 - (-0.125) ** 3) / 3;
    expect(e.error(0.25, 0, -1, 1)).toBeCloseTo(inner + (1.75 ** 3 - 0.75 ** 3) / 3, 12);
    // A zero point shifts the grid: z = 1, q ∈ [0, 2] is the same grid −1…1 in steps of s.
    expect(e.error(1, 1, 0, 2)).toBeCloseTo(1 / 12 + 1 / 3, 12);
  });

  it('matches the error measured by quantizing the raw values (within 1%) across clip ranges', () => {
    const x = laplace(100_000, 45);
    const s = statsOf(x);
    const e = new HistogramError(s.histogram!);
    for (const t of [1, 2, 4, 8, s.max]) {
      for (const spec of [INT8_SYM, INT4_SYM]) {
        const hist = e.errorOfRange(-t, t, spec) / x.length;
        expect(Math.abs(hist / measured(x, { min: -t, max: t }, spec) - 1)).toBeLessThan(0.01);
      }
    }
  });

  it('degenerate and missing histograms', () => {
    expect(mse.range(statsOf(new Float32Array(10)), INT8_SYM, {})).toEqual({ min: 0, max: 0 });
    expect(() => mse.range({ min: -1, max: 1 }, INT8_SYM, {})).toThrow(/histogram/);
  });
});
