/**
 * onnxq's policy for non-finite data: a sample holding NaN or ±Infinity in a float input is refused,
 * naming the input, the sample and how many values are bad. One NaN among fifty thousand calibration
 * values is enough to drive a range to ±3.4e38 and write a useless model (or to make a validation
 * metric NaN); skipping such samples quietly would hide broken preprocessing, which is where they
 * come from. Every source that calibration and validation read goes through here.
 */
import { fail } from '../errors.js';
import type { CalibrationSource, HostTensor, Sample } from './source.js';

export function finiteSource(source: CalibrationSource): CalibrationSource {
  return {
    description: source.description,
    count: source.count,
    ...(source.notes ? { notes: source.notes } : {}),
    async load(index: number): Promise<Sample> {
      const sample = await source.load(index);
      for (const [name, t] of Object.entries(sample)) {
        const bad = nonFinite(t);
        if (bad)
          fail(
            'BAD_CALIBRATION',
            `${source.description}, sample ${index}: input '${name}' holds ${bad.count} value${bad.count === 1 ? '' : 's'} that ${bad.count === 1 ? 'is' : 'are'} not finite ` +
              `(the first, at element ${bad.first}, is ${bad.value}). onnxq calibrates and validates on finite data only: fix the preprocessing that made it, or remove the sample.`,
          );
      }
      return sample;
    },
  };
}

/** The count of NaN/±Infinity values in a float tensor, the first one's index and value; undefined when all are finite. */
function nonFinite(t: HostTensor): { count: number; first: number; value: string } | undefined {
  let count = 0;
  let first = -1;
  let value = '';
  if (t.dtype === 'float32' || t.dtype === 'float64') {
    const data = t.data as Float32Array | Float64Array;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      // v − v is 0 for every finite v, NaN for NaN and ±Infinity: one test for both.
      if (v - v !== 0) {
        if (count++ === 0) [first, value] = [i, String(v)];
      }
    }
  } else if (t.dtype === 'float16') {
    const bits = t.data as Uint16Array;
    for (let i = 0; i < bits.length; i++)
      if ((bits[i]! & 0x7c00) === 0x7c00) {
        if (count++ === 0) [first, value] = [i, bits[i]! & 0x3ff ? 'NaN' : bits[i]! & 0x8000 ? '-Infinity' : 'Infinity'];
      }
  }
  return count ? { count, first, value } : undefined;
}
