/**
 * Synthetic samples for validating a model when the user has no data: float inputs uniform in
 * [0, 1) from a seeded generator, integer and bool inputs a constant (--input-value name=v, else 1 —
 * random integers would make token ids or a sample rate meaningless), free dimensions 1 unless
 * --input-shape fixes them.
 */
import { fail } from '../errors.js';
import { floatToHalf, type TypedArray } from '../onnx/dtype.js';
import { createRng } from './random.js';
import type { CalibrationSource, ModelInput, Sample } from './source.js';

export interface SyntheticOptions {
  count?: number;
  seed?: number;
  /** Values for integer (and bool) inputs, by name. */
  values?: Record<string, number>;
}

/** onnxruntime's integer (and bool) type names that hold plain numbers. */
const INTEGER_ARRAYS: Record<string, new (n: number) => Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

export function syntheticSource(inputs: readonly ModelInput[], options: SyntheticOptions = {}): CalibrationSource {
  const count = options.count ?? 8;
  const values = options.values ?? {};
  for (const name of Object.keys(values))
    if (!inputs.some((i) => i.name === name))
      fail('BAD_OPTION', `--input-value names '${name}', but the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}.`);
  const make = (index: number): Sample => {
    const rng = createRng((options.seed ?? 0) * 7919 + index);
    const sample: Sample = {};
    for (const input of inputs) {
      const dims = input.shape.map((d) => (typeof d === 'number' ? d : 1));
      const n = dims.reduce((a, d) => a * d, 1);
      const fill = values[input.name];
      let data: TypedArray;
      switch (input.dtype) {
        case 'float32':
        case 'float64':
        case 'float16': {
          // float16 travels as its bits (onnxruntime's Uint16Array form).
          const half = input.dtype === 'float16';
          const out = input.dtype === 'float32' ? new Float32Array(n) : input.dtype === 'float64' ? new Float64Array(n) : new Uint16Array(n);
          for (let i = 0; i < n; i++) {
            const v = fill ?? rng.nextFloat();
            out[i] = half ? floatToHalf(v) : v;
          }
          data = out;
          break;
        }
        case 'int64':
        case 'uint64':
          data = (input.dtype === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n)).fill(BigInt(Math.trunc(fill ?? 1)));
          break;
        default: {
          const Ctor = INTEGER_ARRAYS[input.dtype];
          if (!Ctor) fail('BAD_OPTION', `input '${input.name}' is ${input.dtype}; onnxq cannot make synthetic values of that type. Give data with --calib, or pass --no-validate.`);
          data = new Ctor(n).fill(fill ?? 1);
        }
      }
      sample[input.name] = { dtype: input.dtype, dims, data };
    }
    return sample;
  };
  return { description: 'synthetic inputs (floats uniform in [0, 1), integers from --input-value or 1)', count, load: async (i) => make(i) };
}
