/**
 * ACIQ (Banner et al. 2019): the clip each prior's error equation gives, against the paper's table, and
 * the prior the data picks, on seeded Laplace, Gaussian and Relu-shaped tensors.
 */
import { describe, expect, it } from 'vitest';
import { aciq, aciqRanges, optimalClip } from '../../src/calibrate/aciq.js';
import type { QuantSpec } from '../../src/quant/spec.js';
import { gaussian, laplace, observeAll, relu } from './helpers.js';

const INT8_SYM: QuantSpec = { dtype: 'int8', symmetric: true };
const UINT8: QuantSpec = { dtype: 'uint8', symmetric: false };

describe('ACIQ', () => {
  it('solves the error equation to the paper\'s table (α/b for Laplace, α/σ for Gaussian)', () => {
    const table: [string, number, number][] = [
      ['laplace', 2, 2.83], ['laplace', 3, 3.89], ['laplace', 4, 5.03], ['laplace', 8, 9.89],
      ['gaussian', 2, 1.71], ['gaussian', 4, 2.55], ['gaussian', 8, 3.92],
    ];
    for (const [prior, bits, ratio] of table) expect(optimalClip(prior as 'laplace', 1, 2 ** bits), `${prior} ${bits}`).toBeCloseTo(ratio, 1);
    // Scale-free: α grows with the spread.
    expect(optimalClip('laplace', 3, 256)).toBeCloseTo(3 * optimalClip('laplace', 1, 256), 6);
  });

  it('Laplace data: the Laplace prior is kept, clipping at about 9.9·b for int8', () => {
    const x = laplace(200_000, 3, 0.5);
    const { h, m } = observeAll([x]);
    const stats = { min: m.min, max: m.max, histogram: h };
    const r = aciq.range(stats, INT8_SYM, {});
    expect(r).toEqual(aciqRanges(h, stats, INT8_SYM).laplace);
    expect(r.max / 0.5).toBeGreaterThan(9.5);
    expect(r.max / 0.5).toBeLessThan(10.3);
    expect(r.max).toBeLessThan(m.max); // a long tail is clipped
  });

  it('Gaussian data: the Gaussian prior is kept, clipping at about 3.9·σ for int8', () => {
    const x = gaussian(200_000, 4, 0, 2);
    const { h, m } = observeAll([x]);
    const stats = { min: m.min, max: m.max, histogram: h };
    const r = aciq.range(stats, INT8_SYM, {});
    expect(r).toEqual(aciqRanges(h, stats, INT8_SYM).gaussian);
    expect(r.max / 2).toBeGreaterThan(3.8);
    expect(r.max / 2).toBeLessThan(4.05);
  });

  it('a Relu output gets [0, α] on |x|, inside the observed range; a shifted tensor is centred on its mean', () => {
    const x = relu(laplace(100_000, 5, 1));
    const { h, m } = observeAll([x]);
    const r = aciq.range({ min: m.min, max: m.max, histogram: h }, UINT8, {});
    expect(r.min).toBe(0);
    expect(r.max).toBeGreaterThan(0);
    expect(r.max).toBeLessThanOrEqual(m.max);
    // Mean 5, σ 1, one value in a thousand negated: of mixed sign, centred far from 0.
    const mixed = Float32Array.from(gaussian(100_000, 6, 5, 1), (v, i) => (i % 1000 === 0 ? -v : v));
    const o = observeAll([mixed]);
    const s = aciq.range({ min: o.m.min, max: o.m.max, histogram: o.h }, UINT8, {});
    expect(s.min).toBeGreaterThanOrEqual(o.m.min);
    expect(s.max).toBeLessThanOrEqual(o.m.max);
  });

  it('keeps at least 99.9 % of the values where the priors would clip the signal (a mostly-zero tensor with large values)', () => {
    // 99 % near zero, 1 % spread up to 10: b and σ are tiny, the priors' α far below the 1 % that matters.
    const x = Float32Array.from(gaussian(100_000, 7, 0, 0.01), (v, i) => (i % 100 === 0 ? 10 * ((i / 100) % 97) / 97 : v));
    const { h, m } = observeAll([x]);
    const r = aciq.range({ min: m.min, max: m.max, histogram: h }, INT8_SYM, {});
    const inside = x.filter((v) => v >= r.min && v <= r.max).length / x.length;
    expect(inside).toBeGreaterThanOrEqual(0.999);
    expect(optimalClip('gaussian', 0.01, 256)).toBeLessThan(0.05); // what the prior alone would have kept
  });
});
