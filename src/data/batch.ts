/** Samples taken together: a batch loaded from a source, stacked along the leading dimension. */
import type { CalibrationSource, Sample } from './source.js';

/** Loads the samples of `batch` and stacks them into one run's feeds. */
export async function loadBatch(source: CalibrationSource, batch: readonly number[]): Promise<Sample> {
  const samples: Sample[] = [];
  for (const i of batch) samples.push(await source.load(i));
  return concatSamples(samples);
}

/** Concatenates samples along axis 0 (their leading dimension). */
export function concatSamples(samples: Sample[]): Sample {
  if (samples.length === 1) return samples[0]!;
  const out: Sample = {};
  for (const name of Object.keys(samples[0]!)) {
    const parts = samples.map((s) => s[name]!);
    const first = parts[0]!;
    const total = parts.reduce((a, p) => a + p.data.length, 0);
    const data = new (first.data.constructor as Float32ArrayConstructor)(total);
    let off = 0;
    for (const p of parts) {
      data.set(p.data as Float32Array, off);
      off += p.data.length;
    }
    out[name] = { dtype: first.dtype, dims: [parts.reduce((a, p) => a + p.dims[0]!, 0), ...first.dims.slice(1)], data };
  }
  return out;
}
