/** The error metrics against values worked out by hand. */
import { describe, expect, it } from 'vitest';
import { ErrorAccumulator, errorMetrics } from '../src/analyze/metrics.js';

describe('error metrics', () => {
  it('SQNR, cosine, MSE, max |error| and PPQ\'s noise-to-signal of one tensor', () => {
    // x = (3, 4), x̂ = (3, 3): Σx² = 25, Σ(x − x̂)² = 1, ⟨x, x̂⟩ = 21, ‖x̂‖ = √18.
    const m = errorMetrics([3, 4], [3, 3]);
    expect(m.sqnr).toBeCloseTo(10 * Math.log10(25), 12);
    expect(m.cosine).toBeCloseTo(21 / (5 * Math.sqrt(18)), 12);
    expect(m.mse).toBe(0.5);
    expect(m.maxAbsError).toBe(1);
    expect(m.noiseToSignal).toBeCloseTo(1 / (25 + 1e-7), 12);
    // For one sample, SQNR = −10·log10(noise-to-signal) (up to PPQ's 1e-7).
    expect(-10 * Math.log10(m.noiseToSignal)).toBeCloseTo(m.sqnr, 6);
  });

  it('over several samples: SQNR pools the sums, PPQ averages each sample\'s ratio', () => {
    const acc = new ErrorAccumulator();
    acc.add([3, 4], [3, 3]); // noise 1, signal 25
    acc.add([1, 0], [0, 0]); // noise 1, signal 1
    expect(acc.sqnr).toBeCloseTo(10 * Math.log10(26 / 2), 12);
    expect(acc.noiseToSignal).toBeCloseTo((1 / 25 + 1 / 1) / 2, 6);
    expect(acc.mse).toBe(0.5);
    expect(acc.maxAbsError).toBe(1);
  });

  it('identical tensors: SQNR +∞, cosine 1, no error', () => {
    const m = errorMetrics([1, -2], [1, -2]);
    expect(m.cosine).toBeCloseTo(1, 15);
    expect({ ...m, cosine: 1 }).toEqual({ sqnr: Infinity, cosine: 1, mse: 0, maxAbsError: 0, noiseToSignal: 0 });
  });
});
