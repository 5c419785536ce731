/**
 * A calibration source over arrays: one array per model input, samples along the first axis.
 * Arrays are matched to inputs by name (`x` for input `x`; a name with characters a file name
 * cannot hold, such as '/' or ':', may also appear with each of them replaced by '_'). numpy's
 * positional names arr_0, arr_1, … are matched to the inputs in model order.
 */
import { fail } from '../errors.js';
import { convertElements } from './convert.js';
import { fitArray, type InputFit } from './fit.js';
import type { ArrayReader } from './npy.js';
import type { CalibrationSource, ModelInput, Sample } from './source.js';

/** A model input name as it can appear in a file name. */
export function fileSafeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_');
}

/**
 * Pairs arrays (by key) with inputs. `container` names where the arrays come from and `entry`
 * turns a key into what the user sees ('x.npy'). Missing and unexpected arrays are errors.
 */
export function bindArrays(
  arrays: Map<string, ArrayReader>,
  inputs: readonly ModelInput[],
  container: string,
  entry: (key: string) => string,
  notes: string[],
): { input: ModelInput; reader: ArrayReader }[] {
  const keys = [...arrays.keys()];
  const byName = inputs.map((input) => keys.find((k) => k === input.name) ?? keys.find((k) => k === fileSafeName(input.name)));
  const positional = keys.length > 0 && keys.every((k) => /^arr_\d+$/.test(k)) && byName.every((k) => k === undefined);
  if (positional && keys.length === inputs.length) {
    const bound = inputs.map((input, i) => {
      const reader = arrays.get(`arr_${i}`);
      if (!reader) fail('BAD_CALIBRATION', `${container} holds positional arrays (${keys.map(entry).join(', ')}) but no ${entry(`arr_${i}`)}. Save the arrays by input name instead, e.g. numpy.savez(path, ${inputs.map((x) => `${x.name}=…`).join(', ')}).`);
      return { input, reader };
    });
    notes.push(`${container}: matched unnamed arrays to the model inputs in order (${bound.map((b, i) => `arr_${i} → ${b.input.name}`).join(', ')}).`);
    return bound;
  }
  const missing = inputs.filter((_, i) => byName[i] === undefined);
  const used = new Set(byName);
  const extra = keys.filter((k) => !used.has(k));
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`no array for model input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m.name}' (expected ${entry(fileSafeName(m.name))})`).join(', ')}`);
    if (extra.length > 0) parts.push(`${extra.map(entry).join(', ')} match${extra.length === 1 ? 'es' : ''} no model input`);
    fail('BAD_CALIBRATION', `${container}: ${parts.join('; ')}. The model's inputs are ${inputs.map((x) => `'${x.name}'`).join(', ')}; give exactly one array per input, named after it.`);
  }
  return inputs.map((input, i) => ({ input, reader: arrays.get(byName[i]!)! }));
}

/** Checks every array against its input (header only) and returns a source that reads one row per array per sample. */
export function arraySource(description: string, bound: readonly { input: ModelInput; reader: ArrayReader }[], notes: string[] = []): CalibrationSource {
  const fits: { fit: InputFit; reader: ArrayReader }[] = bound.map(({ input, reader }) => ({
    fit: fitArray(input, reader.dtype, reader.dims, reader.where),
    reader,
  }));
  const count = fits[0]!.fit.count;
  const disagree = fits.find((f) => f.fit.count !== count);
  if (disagree)
    fail('BAD_CALIBRATION', `the calibration arrays hold different numbers of samples: ${fits.map((f) => `${f.reader.where} has ${f.fit.count}`).join(', ')}. Every array needs one entry per sample along its first axis.`);
  return {
    description: `${description} (${count} sample${count === 1 ? '' : 's'})`,
    count,
    notes,
    async load(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`sample ${index} is out of range 0..${count - 1}`);
      const sample: Sample = {};
      for (const { fit, reader } of fits) {
        const raw = reader.readRow(index);
        const data = convertElements(raw, reader.dtype, fit.input.dtype, `${reader.where}, sample ${index}`);
        sample[fit.input.name] = { dtype: fit.input.dtype, dims: [...fit.sampleDims], data };
      }
      return sample;
    },
  };
}
