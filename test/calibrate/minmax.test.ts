import { describe, expect, it } from 'vitest';
import { MinMaxObserver, minmax } from '../../src/calibrate/minmax.js';
import { MovingAverageObserver, movingAverage } from '../../src/calibrate/moving-average.js';
import { SampleObserver } from '../../src/calibrate/sample.js';
import { batches, gaussian, observeAll } from './helpers.js';

const SPEC = { dtype: 'int8', symmetric: false } as const;

describe('MinMaxObserver and minmax', () => {
  it('tracks the global min and max over batches, ignoring NaN', () => {
    const m = new MinMaxObserver();
    m.observe(Float32Array.of(1, NaN, -2, 3));
    m.observe(Float32Array.of(NaN));
    m.observe(Float32Array.of(0.5, 4));
    expect(m.range()).toEqual({ min: -2, max: 4 });
    expect(m.absmax).toBe(4);
    expect(minmax.range({ min: -2, max: 4 }, SPEC, {})).toEqual({ min: -2, max: 4 });
  });

  it('returns the raw range (symmetric widening is scaleZeroPoint’s job)', () => {
    expect(minmax.range({ min: 0.5, max: 3 }, { dtype: 'int8', symmetric: true }, {})).toEqual({ min: 0.5, max: 3 });
  });

  it('nothing seen → [0, 0]', () => {
    const m = new MinMaxObserver();
    m.observe(new Float32Array(0));
    m.observe(Float32Array.of(NaN));
    expect(m.seen).toBe(false);
    expect(m.range()).toEqual({ min: 0, max: 0 });
    expect(minmax.range({ min: m.min, max: m.max }, SPEC, {})).toEqual({ min: 0, max: 0 });
  });

  it('merge', () => {
    const a = new MinMaxObserver();
    a.observe(Float32Array.of(-1, 2));
    const b = new MinMaxObserver();
    b.observe(Float32Array.of(-3, 1));
    a.merge(b);
    expect(a.range()).toEqual({ min: -3, max: 2 });
    a.merge(new MinMaxObserver());
    expect(a.range()).toEqual({ min: -3, max: 2 });
  });
});

describe('MovingAverageObserver and moving-average', () => {
  it('m ← m + 0.01·(batch − m), the first batch initialising', () => {
    const e = new MovingAverageObserver();
    e.observe(Float32Array.of(-1, 10)); // min −1, max 10
    e.observe(Float32Array.of(-3, 20)); // min −1 + 0.01·(−2) = −1.02; max 10 + 0.01·10 = 10.1
    e.observe(Float32Array.of(0, 0)); // min −1.02 + 0.01·1.02 = −1.0098; max 10.1 − 0.101 = 9.999
    expect(e.range()!.min).toBeCloseTo(-1.0098, 14);
    expect(e.range()!.max).toBeCloseTo(9.999, 14);
    expect(e.batches).toBe(3);
    expect(movingAverage.range({ min: -3, max: 20, movingAverage: e.range()! }, SPEC, {})).toEqual(e.range());
  });

  it('skips empty and all-NaN batches; no batch → undefined (the method falls back to min/max)', () => {
    const e = new MovingAverageObserver();
    e.observe(Float32Array.of(NaN));
    expect(e.range()).toBeUndefined();
    e.observe(Float32Array.of(2, 5));
    e.observe(new Float32Array(0));
    expect(e.range()).toEqual({ min: 2, max: 5 });
    expect(movingAverage.range({ min: 1, max: 6, movingAverage: { min: NaN, max: NaN } }, SPEC, {})).toEqual({ min: 1, max: 6 });
    expect(() => movingAverage.range({ min: 1, max: 6 }, SPEC, {})).toThrow(/moving averages/);
  });

  it('merges weighted by batch counts', () => {
    const a = new MovingAverageObserver();
    a.observe(Float32Array.of(-1, 1)); // 1 batch: (−1, 1)
    const b = new MovingAverageObserver();
    for (let i = 0; i < 3; i++) b.observe(Float32Array.of(-5, 5)); // 3 batches: (−5, 5)
    a.merge(b);
    expect(a.range()).toEqual({ min: (1 * -1 + 3 * -5) / 4, max: (1 * 1 + 3 * 5) / 4 });
    expect(a.batches).toBe(4);
    const empty = new MovingAverageObserver();
    empty.merge(a);
    expect(empty.range()).toEqual(a.range());
  });

  it('rejects a constant outside (0, 1]', () => {
    expect(() => new MovingAverageObserver(0)).toThrow(/outside/);
    expect(() => new MovingAverageObserver(1.5)).toThrow(/outside/);
  });
});

describe('memory independence: 1 batch or 100 batches give the same statistics', () => {
  const x = gaussian(200_000, 7);
  const one = () => [x];
  const many = () => batches(x, 100);

  const gather = (parts: Float32Array[]) => observeAll(parts, new SampleObserver(1000, 3));

  it('minmax, histogram and the reservoir sample are identical; the EMA differs by design', () => {
    const a = gather(one());
    const b = gather(many());
    expect(b.m.range()).toEqual(a.m.range());
    expect(b.h.counts).toEqual(a.h.counts);
    expect(b.h.total).toBe(a.h.total);
    // Algorithm R draws once per value in order, so batching does not change the sample either.
    expect(b.s.values()).toEqual(a.s.values());
    // EMA: one batch is the global extremes; 100 batches average the per-batch extremes toward them.
    expect(a.e.range()).toEqual(a.m.range());
    expect(b.e.range()!.max).toBeLessThan(a.m.max);
    expect(b.e.range()!.min).toBeGreaterThan(a.m.min);
  });
});
