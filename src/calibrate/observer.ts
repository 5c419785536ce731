/**
 * Observers watch one tensor's values batch by batch during calibration. Each keeps a fixed amount
 * of memory however many samples pass, and two observers of the same kind and settings merge
 * (e.g. statistics gathered by two workers). Range methods then turn the statistics into a clip range.
 */
import type { QuantSpec } from '../quant/spec.js';

export interface Range {
  min: number;
  max: number;
}

export interface Observer {
  /** Folds one batch of the tensor's values in. The array is not kept. */
  observe(values: Float32Array): void;
  /** Folds in another observer of the same kind and settings. */
  merge(other: this): void;
}

/** Everything gathered for one tensor; which parts exist depends on the methods asked for. */
export interface TensorStats {
  /** Global min and max, exact. Always present. */
  min: number;
  max: number;
  /** Exponential moving averages of per-batch min and max, for `moving-average`. */
  movingAverage?: Range;
  /**
   * Histogram of values, for percentile, entropy and mse: over exactly ±max |x| with 4096 bins when a
   * method needs TensorRT's bins (`fixedHistogram`), else one that grew with the data.
   */
  histogram?: import('./histogram.js').HistogramObserver;
  /** A bounded uniform sample of the values, for `admm`. */
  sample?: Float32Array;
}

export const RANGE_METHOD_NAMES = ['minmax', 'moving-average', 'percentile', 'entropy', 'mse', 'admm', 'aciq'] as const;
export type RangeMethodName = (typeof RANGE_METHOD_NAMES)[number];

export interface RangeMethodOptions {
  /** Percentile in (0, 100], default 99.999. */
  percentile?: number;
}

/** A calibration method: what it needs gathered, and how it turns that into a range for a spec. */
export interface RangeMethod {
  name: RangeMethodName;
  /** fixedHistogram: the histogram must span exactly ±max |x| (a second pass over the data). */
  needs: { histogram?: boolean; fixedHistogram?: boolean; movingAverage?: boolean; sample?: boolean };
  range(stats: TensorStats, spec: QuantSpec, options: RangeMethodOptions): Range;
}
