/**
 * Element type conversion between what calibration files hold and what a model input takes.
 * Policy: float ⇄ float converts (float64/float16 data for a float32 input, and so on; rounding to
 * nearest). Integer → integer of another width converts when every value fits (checked per sample).
 * Integer ↔ float and anything ↔ bool are refused: integer data for a float input is almost always
 * un-normalised pixels or ids, and calibrating on them silently would give wrong ranges.
 */
import { fail } from '../errors.js';
import { floatToHalf, halfToFloat, type TypedArray } from '../onnx/dtype.js';
import { allocateFor } from './npy.js';

const FLOATS = new Set(['float16', 'float32', 'float64']);
const INTS: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

export type Conversion = 'none' | 'float' | 'integer';

/** How data of `from` becomes `to`, or undefined when it may not. */
export function conversionOf(from: string, to: string): Conversion | undefined {
  if (from === to) return 'none';
  if (FLOATS.has(from) && FLOATS.has(to)) return 'float';
  if (from in INTS && to in INTS) return 'integer';
  return undefined;
}

/** Advice for a refused conversion, phrased for numpy users. */
export function conversionAdvice(from: string, to: string): string {
  const np = to === 'float32' ? 'numpy.float32' : to === 'bool' ? 'bool' : `numpy.${to}`;
  if (FLOATS.has(to) && (from in INTS || from === 'bool'))
    return `Integer data is not converted to ${to}, because it usually means the model's preprocessing (e.g. scaling pixels by 1/255) was not applied: apply it and save the array with .astype(${np}).`;
  return `Save the array with .astype(${np}).`;
}


/** Converts `data` from `from` to `to` (a conversion `conversionOf` allows). `where` names the data in errors. */
export function convertElements(data: TypedArray, from: string, to: string, where: string): TypedArray {
  const kind = conversionOf(from, to);
  if (kind === 'none') return data;
  if (kind === undefined) fail('BAD_CALIBRATION', `${where}: cannot convert ${from} data to ${to}. ${conversionAdvice(from, to)}`);
  const n = data.length;
  const out = allocateFor(to, n);
  if (kind === 'float') {
    const read = from === 'float16' ? (i: number) => halfToFloat(data[i] as number) : (i: number) => data[i] as number;
    if (to === 'float16') for (let i = 0; i < n; i++) out[i] = floatToHalf(read(i));
    else for (let i = 0; i < n; i++) out[i] = read(i);
    return out;
  }
  const [lo, hi] = INTS[to]!;
  const bigOut = to === 'int64' || to === 'uint64';
  const bigIn = from === 'int64' || from === 'uint64';
  const outOfRange = (v: bigint | number, i: number): never =>
    fail('BAD_CALIBRATION', `${where}: value ${v} at element ${i} does not fit the model input's ${to}. Check the data, or save it with .astype(numpy.${to}) if that is what the model expects.`);
  if (bigIn) {
    for (let i = 0; i < n; i++) {
      const v = data[i] as bigint;
      if (v < lo || v > hi) outOfRange(v, i);
      out[i] = (bigOut ? v : Number(v)) as never;
    }
  } else {
    const l = Number(lo);
    const h = Number(hi);
    for (let i = 0; i < n; i++) {
      const v = data[i] as number;
      if (v < l || v > h) outOfRange(v, i);
      out[i] = (bigOut ? BigInt(v) : v) as never;
    }
  }
  return out;
}
