/**
 * Whether an array fits a model input, decided from its header alone (before any sample is read).
 * Samples are slices along the array's first axis. An array of rank r+1 for an input of rank r gives
 * samples of shape dims[1..]; an array of rank r gives samples of shape [1, ...dims[1..]], which
 * needs the input's first dim to be 1 or free. Static model dims must match; free dims accept any size.
 */
import { fail } from '../errors.js';
import { formatShape, type Dim } from '../ir/types.js';
import { conversionAdvice, conversionOf, type Conversion } from './convert.js';
import type { ModelInput } from './source.js';

export interface InputFit {
  input: ModelInput;
  /** Number of samples (the array's first dim). */
  count: number;
  /** Dims of one sample as fed to the model. */
  sampleDims: number[];
  conversion: Conversion;
}

/** Checks an array (`dtype`, `dims`, found at `where`) against `input`; throws an OnnxqError that names both when it does not fit. */
export function fitArray(input: ModelInput, dtype: string, dims: readonly number[], where: string): InputFit {
  const shape = input.shape;
  const found = `${dtype} ${formatShape([...dims])}`;
  const intro = `${where} holds ${found}, but model input '${input.name}' takes ${input.dtype} ${formatShape(shape)}`;

  const conversion = conversionOf(dtype, input.dtype);
  if (conversion === undefined) fail('BAD_CALIBRATION', `${intro}. ${conversionAdvice(dtype, input.dtype)}`);

  const r = shape.length;
  const a = dims.length;
  const leadFree = r >= 1 && (shape[0] === 1 || typeof shape[0] !== 'number');
  let sampleDims: number[];
  let modelAxes: Dim[]; // the model dims the array's axes 1.. must match
  let firstModelAxis: number;
  if (a === r + 1) {
    sampleDims = dims.slice(1);
    modelAxes = shape;
    firstModelAxis = 0;
  } else if (a === r && r >= 1) {
    if (!leadFree)
      fail('BAD_CALIBRATION', `${intro}: the model's first dim is a fixed ${shape[0]}, so each sample must be a whole [${shape.join(', ')}] block. Save the array with shape ${suggest(shape, false)}.`);
    sampleDims = [1, ...dims.slice(1)];
    modelAxes = shape.slice(1);
    firstModelAxis = 1;
  } else {
    fail('BAD_CALIBRATION', `${intro}: the array has rank ${a}; it needs rank ${r + 1}${leadFree ? ` or ${r}` : ''} (first axis = samples). Save it with shape ${suggest(shape, leadFree)}.`);
  }

  for (let k = 0; k < modelAxes.length; k++) {
    const want = modelAxes[k];
    const got = dims[k + 1]!;
    if (typeof want === 'number' && want !== got)
      fail('BAD_CALIBRATION', `${intro}: axis ${k + 1} of the array is ${got} where the model's dim ${k + firstModelAxis} is ${want}. Save it with shape ${suggest(shape, leadFree)}.`);
  }
  const count = dims[0]!;
  if (count === 0) fail('BAD_CALIBRATION', `${where} holds no samples (its first axis is 0). Give at least one sample for input '${input.name}'.`);
  return { input, count, sampleDims, conversion };
}

/** The shape to save: N samples along a new or the existing first axis. */
function suggest(shape: Dim[], leadFree: boolean): string {
  const rest = leadFree ? shape.slice(1) : shape;
  return formatShape(['N', ...rest]).replace(/\?/g, 'any') + ' (N = number of samples)';
}
