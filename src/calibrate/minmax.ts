/**
 * Global min and max of a tensor over all calibration batches (ORT MinMaxCalibrater,
 * TensorRT MinMaxCalibrator, PyTorch MinMaxObserver): min = min over batches of each batch's min, max likewise.
 * Range [min, max]; for symmetric specs scaleZeroPoint (quant/params.ts) widens it to ±max(|min|, |max|).
 */
import type { Observer, Range, RangeMethod, TensorStats } from './observer.js';

export class MinMaxObserver implements Observer {
  /** +Infinity / −Infinity until a value (other than NaN) has been seen. */
  min = Infinity;
  max = -Infinity;

  observe(values: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0, n = values.length; i < n; i++) {
      const v = values[i]!;
      // NaN fails both comparisons and is ignored.
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  merge(other: MinMaxObserver): void {
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** True once a value has been seen. */
  get seen(): boolean {
    return this.min <= this.max;
  }

  /** max(|min|, |max|): the half-width of a histogram over this range (0 before any value). */
  get absmax(): number {
    return this.seen ? Math.max(Math.abs(this.min), Math.abs(this.max)) : 0;
  }

  range(): Range {
    return this.seen ? { min: this.min, max: this.max } : { min: 0, max: 0 };
  }
}

/** [min, max] of the stats, or [0, 0] when the tensor had no values. */
export function observedRange(stats: Pick<TensorStats, 'min' | 'max'>): Range {
  return stats.min <= stats.max ? { min: stats.min, max: stats.max } : { min: 0, max: 0 };
}

export const minmax: RangeMethod = {
  name: 'minmax',
  needs: {},
  range: (stats) => observedRange(stats),
};
