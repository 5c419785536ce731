import { describe, expect, it } from 'vitest';
import { ADMM_ACTIVATION, ADMM_WEIGHT, admm, admmGrid, admmRange, admmScale, admmWeightRanges } from '../../src/calibrate/admm.js';
import { paramsFromRanges, scaleZeroPoint } from '../../src/quant/params.js';
import { fakeQuantize } from '../../src/quant/quantize.js';
import type { QuantSpec } from '../../src/quant/spec.js';
import { laplace } from './helpers.js';

const INT4_SYM: QuantSpec = { dtype: 'int4', symmetric: true };
const INT8_SYM: QuantSpec = { dtype: 'int8', symmetric: true };
const UINT8: QuantSpec = { dtype: 'uint8', symmetric: false };

describe('ADMM (MNN)', () => {
  // x = 1…7 and 70 on the int4 grid ±7; activations: α₀ = 70/(7·2.5) = 4.
  //  α = 4:    q = round(x/4) = 0 0 1 1 1 2 2 7 (½ → 0, 1½ → 2: ties to even) → α = Σqx/Σq² = 528/60 = 8.8
  //  α = 8.8:  q = 0 0 0 0 1 1 1 7 → α = (5 + 6 + 7 + 490)/(3 + 49) = 508/52
  //  α = 9.77: q unchanged → stop.
  const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 70);

  it('hand-checked fixed point: α = 508/52', () => {
    expect(admmGrid(INT4_SYM, true)).toEqual({ lo: -7, hi: 7, rmin: -7.5, rmax: 7.5 });
    expect(admmScale(x, -7, 7, 4, 1)).toBeCloseTo(8.8, 12);
    expect(admmScale(x, -7, 7, 4, 2)).toBeCloseTo(508 / 52, 12);
    expect(admmScale(x, -7, 7, 4, 300)).toBeCloseTo(508 / 52, 12);
    const r = admmRange(x, INT4_SYM, ADMM_ACTIVATION);
    expect(r.max).toBeCloseTo(7.5 * (508 / 52), 12);
    expect(r.min).toBe(-r.max);
    // Through scaleZeroPoint (int4 symmetric uses −8…7, so s = 2r/15): s = α, z = 0.
    expect(scaleZeroPoint(r.min, r.max, INT4_SYM)).toEqual({ scale: Math.fround(508 / 52), zeroPoint: 0 });
  });

  it('weights start from max/(hi·1.25) and reach the same fixed point here', () => {
    // α₀ = 70/(7·1.25) = 8 → q = 0 0 0 0 1 1 1 7 at once → 508/52.
    expect(admmRange(x, INT4_SYM, ADMM_WEIGHT).max).toBeCloseTo(7.5 * (508 / 52), 12);
  });

  it('per-channel weights: each channel alone, whatever the axis', () => {
    // dims [2, 3, 2], axis 1: channel c holds w[o, c, k] for o, k ∈ {0, 1}.
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * (i + 1));
    const r = admmWeightRanges(w, [2, 3, 2], 1, INT8_SYM);
    for (let c = 0; c < 3; c++) {
      const vals = Float32Array.of(w[c * 2]!, w[c * 2 + 1]!, w[6 + c * 2]!, w[6 + c * 2 + 1]!);
      const one = admmRange(vals, INT8_SYM, ADMM_WEIGHT);
      expect([r.min[c], r.max[c]]).toEqual([one.min, one.max]);
    }
    const whole = admmWeightRanges(w, [2, 3, 2], undefined, INT8_SYM);
    expect(whole.min.length).toBe(1);
    expect(whole.max[0]).toBe(admmRange(w, INT8_SYM, ADMM_WEIGHT).max);
    // A zero channel gets [0, 0].
    expect(admmWeightRanges(new Float32Array(4), [2, 2], 0, INT8_SYM).max).toEqual(Float64Array.of(0, 0));
  });

  it('scales come out as α for symmetric int8, and for uint8 on non-negative data (grid 0…255, z = 0)', () => {
    const sym = admmRange(x, INT8_SYM, ADMM_ACTIVATION);
    const alpha = sym.max / 127;
    expect(scaleZeroPoint(sym.min, sym.max, INT8_SYM).scale).toBe(Math.fround(alpha));
    const u = admmRange(x, UINT8, ADMM_ACTIVATION);
    expect(u.min).toBe(0);
    expect(scaleZeroPoint(u.min, u.max, UINT8)).toEqual({ scale: Math.fround(u.max / 255), zeroPoint: 0 });
  });

  it('the admm method: lower quantization error than minmax on a heavy-tailed sample', () => {
    const sample = laplace(20_000, 51);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of sample) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const r = admm.range({ min: lo, max: hi, sample }, INT8_SYM, {});
    const err = (min: number, max: number) => {
      const y = fakeQuantize(sample, [sample.length], paramsFromRanges([min], [max], INT8_SYM));
      return sample.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
    };
    expect(r.max).toBeLessThan(Math.max(-lo, hi));
    expect(err(r.min, r.max)).toBeLessThan(err(lo, hi));
    expect(() => admm.range({ min: lo, max: hi }, INT8_SYM, {})).toThrow(/sample/);
    expect(admm.range({ min: -1, max: 2, sample: new Float32Array(0) }, INT8_SYM, {})).toEqual({ min: -1, max: 2 });
  });

  it('fits a zero point too for an asymmetric spec on skewed data of both signs', () => {
    // Values in [−0.8, 2]: a symmetric ±r grid would leave the range below −0.8 unused.
    const sample = Float32Array.from(laplace(20_000, 77), (v) => Math.max(-0.8, Math.min(2, 0.6 + 0.4 * v)));
    const r = admm.range({ min: -0.8, max: 2, sample }, UINT8, {});
    const p = scaleZeroPoint(r.min, r.max, UINT8);
    expect(r.min).toBeGreaterThan(-1);
    expect(r.min).toBeLessThan(0);
    expect(p.zeroPoint).toBeGreaterThan(40);
    expect(p.zeroPoint).toBeLessThan(128);
    const err = (min: number, max: number) => {
      const y = fakeQuantize(sample, [sample.length], paramsFromRanges([min], [max], UINT8));
      return sample.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
    };
    const symmetric = admmRange(sample, UINT8, ADMM_ACTIVATION, false);
    expect(err(r.min, r.max)).toBeLessThan(err(symmetric.min, symmetric.max));
  });
});
