import { describe, expect, it } from 'vitest';
import { RANGE_METHODS, needsOf } from '../../src/calibrate/methods.js';
import { RANGE_METHOD_NAMES, type TensorStats } from '../../src/calibrate/observer.js';
import { paramsFromRanges } from '../../src/quant/params.js';
import type { QuantSpec } from '../../src/quant/spec.js';
import { batches, gaussian, observeAll } from './helpers.js';

describe('RANGE_METHODS and needsOf', () => {
  it('one method per name', () => {
    expect(Object.keys(RANGE_METHODS).sort()).toEqual([...RANGE_METHOD_NAMES].sort());
    for (const n of RANGE_METHOD_NAMES) expect(RANGE_METHODS[n].name).toBe(n);
  });

  it('needsOf is the union of needs', () => {
    expect(needsOf(['minmax'])).toEqual({ histogram: false, fixedHistogram: false, movingAverage: false, sample: false });
    expect(needsOf(['mse', 'percentile'])).toEqual({ histogram: true, fixedHistogram: false, movingAverage: false, sample: false });
    // Entropy is defined on TensorRT's 2048 bins over exactly [0, max |x|]: a second pass.
    expect(needsOf(['entropy', 'mse'])).toEqual({ histogram: true, fixedHistogram: true, movingAverage: false, sample: false });
    expect(needsOf(['moving-average', 'admm', 'minmax'])).toEqual({ histogram: false, fixedHistogram: false, movingAverage: true, sample: true });
  });

  it('every method yields a usable range for every common spec (two passes over batches)', () => {
    const x = gaussian(100_000, 61, 0.5, 2);
    const parts = batches(x, 10);
    const { m, e, h, s } = observeAll(parts);
    const stats: TensorStats = { min: m.min, max: m.max, movingAverage: e.range()!, histogram: h, sample: s.values() };
    const specs: QuantSpec[] = [
      { dtype: 'int8', symmetric: true },
      { dtype: 'uint8', symmetric: false },
      { dtype: 'int8', symmetric: false },
      { dtype: 'uint8', symmetric: true },
      { dtype: 'int16', symmetric: true },
      { dtype: 'uint16', symmetric: false },
      { dtype: 'int4', symmetric: true },
      { dtype: 'uint4', symmetric: false },
      { dtype: 'uint8', symmetric: false, reduceRange: true },
    ];
    for (const spec of specs)
      for (const n of RANGE_METHOD_NAMES) {
        const r = RANGE_METHODS[n].range(stats, spec, {});
        expect(r.min, `${n} ${JSON.stringify(spec)}`).toBeLessThanOrEqual(r.max);
        expect(r.max - r.min, `${n} ${JSON.stringify(spec)}`).toBeGreaterThan(0.5);
        const p = paramsFromRanges([r.min], [r.max], spec);
        expect(p.scale[0]! > 0 && Number.isFinite(p.scale[0]!)).toBe(true);
      }
  });
});
