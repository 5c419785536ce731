/**
 * Quantize and dequantize typed arrays, per tensor or per channel, exactly as ONNX
 * QuantizeLinear/DequantizeLinear define it: q = saturate(roundHalfEven(x / s) + z), x̂ = (q − z)·s,
 * with the division done in float32 (a float64 division rounded once to float32 is exact for this).
 */
import { allocate, type TypedArray } from '../onnx/dtype.js';
import { bitsOf, effectiveBits, onnxType, qrange, typeRange } from './spec.js';
import { roundHalfEven } from './round.js';
import type { QuantParams } from './params.js';

/** Size of the axis and the product of the dimensions after it, for walking one channel at a time. */
export function axisLayout(dims: readonly number[], axis: number): { channels: number; inner: number; outer: number } {
  const a = axis < 0 ? axis + dims.length : axis;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= dims[i]!;
  for (let i = a + 1; i < dims.length; i++) inner *= dims[i]!;
  return { channels: dims[a]!, inner, outer };
}

/** Calls fn(channel, start, end) for every contiguous run of one channel's values. */
export function forEachChannelRun(dims: readonly number[], axis: number | undefined, fn: (c: number, start: number, end: number) => void): void {
  if (axis === undefined) {
    let n = 1;
    for (const d of dims) n *= d;
    fn(0, 0, n);
    return;
  }
  const { channels, inner, outer } = axisLayout(dims, axis);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const start = (o * channels + c) * inner;
      fn(c, start, start + inner);
    }
}

/** The layout to walk: the whole tensor as one channel when there is no axis. */
function layout(dims: readonly number[], axis: number | undefined, length: number): { channels: number; inner: number; outer: number } {
  return axis === undefined ? { channels: 1, inner: length, outer: 1 } : axisLayout(dims, axis);
}

/*
 * The loops below walk (outer, channel, inner) themselves rather than through forEachChannelRun: a weight
 * quantized along its last axis (MatMul's output columns) has runs of one value, and a call per value
 * costs more than the arithmetic.
 */

/** Per-channel (or whole-tensor when spec.axis is undefined) min and max. */
export function channelMinMax(data: Float32Array, dims: readonly number[], axis: number | undefined): { min: Float64Array; max: Float64Array } {
  const { channels, inner, outer } = layout(dims, axis, data.length);
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  let i = 0;
  for (let o = 0; o < outer; o++)
    if (inner === 1)
      // Along the last axis (MatMul's columns): the channel changes with every value.
      for (let c = 0; c < channels; c++, i++) {
        const v = data[i]!;
        if (v < min[c]!) min[c] = v;
        if (v > max[c]!) max[c] = v;
      }
    else
      for (let c = 0; c < channels; c++) {
        let lo = min[c]!;
        let hi = max[c]!;
        for (const end = i + inner; i < end; i++) {
          const v = data[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        min[c] = lo;
        max[c] = hi;
      }
  for (let c = 0; c < channels; c++) if (min[c] === Infinity) min[c] = max[c] = 0;
  return { min, max };
}

export function quantizeArray(data: Float32Array, dims: readonly number[], params: QuantParams): TypedArray {
  // Fewer bits than the type holds (3-bit weights in int4): the integers keep to that narrower range
  // even where the scale does not cover every value (trained weights, searched scales). Otherwise the
  // type's, as QuantizeLinear saturates (a reduced range only narrows the scale).
  const narrower = effectiveBits(params.spec) < bitsOf(params.spec.dtype);
  const { qmin, qmax } = narrower ? qrange(params.spec) : typeRange(params.spec.dtype);
  const out = allocate(onnxType(params.spec.dtype), data.length) as Int8Array;
  const { channels, inner, outer } = layout(dims, params.spec.axis, data.length);
  const { scale, zeroPoint } = params;
  let i = 0;
  for (let o = 0; o < outer; o++)
    if (inner === 1)
      // Along the last axis (MatMul's columns): the channel changes with every value.
      for (let c = 0; c < channels; c++, i++) {
        const q = roundHalfEven(Math.fround(data[i]! / scale[c]!)) + zeroPoint[c]!;
        out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
      }
    else
      for (let c = 0; c < channels; c++) {
        const s = scale[c]!;
        const z = zeroPoint[c]!;
        for (const end = i + inner; i < end; i++) {
          const q = roundHalfEven(Math.fround(data[i]! / s)) + z;
          out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
        }
      }
  return out;
}

export function dequantizeArray(q: ArrayLike<number>, dims: readonly number[], params: QuantParams): Float32Array {
  const out = new Float32Array(q.length);
  const { channels, inner, outer } = layout(dims, params.spec.axis, q.length);
  let i = 0;
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const s = params.scale[c]!;
      const z = params.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) out[i] = (q[i]! - z) * s;
    }
  return out;
}

/** x → dequantize(quantize(x)) in one step, for error measurements. */
export function fakeQuantize(data: Float32Array, dims: readonly number[], params: QuantParams): Float32Array {
  return dequantizeArray(quantizeArray(data, dims, params) as Int8Array, dims, params);
}
