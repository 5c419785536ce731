/** A calibration source over samples already in memory (arrays a program made, or decoded in a browser). */
import { fail } from '../errors.js';
import type { CalibrationSource, Sample } from './source.js';

export function memorySource(samples: readonly Sample[], description = 'samples in memory'): CalibrationSource {
  if (samples.length === 0) fail('BAD_CALIBRATION', `${description}: no samples given; pass at least one.`);
  return {
    description,
    count: samples.length,
    load: async (i) => samples[i]!,
  };
}
