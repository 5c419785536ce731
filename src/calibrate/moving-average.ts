/**
 * Exponential moving average of each batch's min and max: m ← m + c·(new − m), c = 0.01,
 * the first batch initialising m. Sources: ORT calibrate.py (CalibMovingAverage, CalibMovingAverageConstant
 * = 0.01), PyTorch MovingAverageMinMaxObserver (averaging_constant 0.01), MNN calibration.cpp (EMA 0.99/0.01).
 * A "batch" is one observe() call; batches that contain only NaN (or nothing) are skipped.
 */
import { fail } from '../errors.js';
import type { Observer, Range, RangeMethod } from './observer.js';
import { observedRange } from './minmax.js';

export const MOVING_AVERAGE_CONSTANT = 0.01;

export class MovingAverageObserver implements Observer {
  /** Averaged min and max; NaN until the first batch. */
  min = NaN;
  max = NaN;
  /** Batches folded in so far (the weight used by merge). */
  batches = 0;

  constructor(readonly constant = MOVING_AVERAGE_CONSTANT) {
    if (!(constant > 0 && constant <= 1)) fail('BAD_OPTION', `moving-average constant ${constant} is outside (0, 1]; use e.g. 0.01`);
  }

  observe(values: Float32Array): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0, n = values.length; i < n; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return; // empty or all NaN
    if (this.batches === 0) {
      this.min = lo;
      this.max = hi;
    } else {
      this.min += this.constant * (lo - this.min);
      this.max += this.constant * (hi - this.max);
    }
    this.batches++;
  }

  /**
   * An EMA depends on the order of its batches, so two EMAs over disjoint batch streams have no exact
   * union. We take the batch-count-weighted mean of the two averages, (n₁m₁ + n₂m₂)/(n₁ + n₂): it is
   * symmetric and associative, equals either side when the other is empty, and for stationary data both
   * averages estimate the same expected per-batch extremum, so weighting by evidence is the natural pooling.
   */
  merge(other: MovingAverageObserver): void {
    if (other.constant !== this.constant) fail('BAD_CALIBRATION', `cannot merge moving averages with constants ${this.constant} and ${other.constant}`);
    if (other.batches === 0) return;
    if (this.batches === 0) {
      this.min = other.min;
      this.max = other.max;
      this.batches = other.batches;
      return;
    }
    const n = this.batches + other.batches;
    this.min = (this.batches * this.min + other.batches * other.min) / n;
    this.max = (this.batches * this.max + other.batches * other.max) / n;
    this.batches = n;
  }

  range(): Range | undefined {
    return this.batches === 0 ? undefined : { min: this.min, max: this.max };
  }
}

export const movingAverage: RangeMethod = {
  name: 'moving-average',
  needs: { movingAverage: true },
  range(stats) {
    if (!stats.movingAverage) fail('BAD_CALIBRATION', `the moving-average method needs moving averages gathered during calibration (see needsOf)`);
    const r = stats.movingAverage;
    // No batch had a value: fall back to the observed range (nothing → [0, 0]).
    return Number.isNaN(r.min) || Number.isNaN(r.max) ? observedRange(stats) : { min: r.min, max: r.max };
  },
};
