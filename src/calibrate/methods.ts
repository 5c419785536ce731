/** The range methods by name, and what a set of them needs gathered during calibration. */
import { aciq } from './aciq.js';
import { admm } from './admm.js';
import { entropy } from './entropy.js';
import { minmax } from './minmax.js';
import { movingAverage } from './moving-average.js';
import { mse } from './mse.js';
import type { RangeMethod, RangeMethodName } from './observer.js';
import { percentile } from './percentile.js';

export const RANGE_METHODS: Readonly<Record<RangeMethodName, RangeMethod>> = {
  minmax,
  'moving-average': movingAverage,
  percentile,
  entropy,
  mse,
  admm,
  aciq,
};

/** Union of what the methods need: a histogram (over the exact range, for entropy), moving averages, a sample. */
export function needsOf(names: Iterable<RangeMethodName>): { histogram: boolean; fixedHistogram: boolean; movingAverage: boolean; sample: boolean } {
  const out = { histogram: false, fixedHistogram: false, movingAverage: false, sample: false };
  for (const n of names) {
    const m = RANGE_METHODS[n];
    out.histogram ||= !!m.needs.histogram;
    out.fixedHistogram ||= !!m.needs.fixedHistogram;
    out.movingAverage ||= !!m.needs.movingAverage;
    out.sample ||= !!m.needs.sample;
  }
  return out;
}
