/**
 * ONNX element types: names, sizes and the typed arrays that hold them in JavaScript.
 * 4-bit types are unpacked to one value per array element; packing happens only in the codec.
 */
import { TensorProto_DataType as DT } from 'onnx-buf';
import { fail } from '../errors.js';

export { DT };

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const NAMES: Record<number, string> = {
  [DT.FLOAT]: 'float32',
  [DT.UINT8]: 'uint8',
  [DT.INT8]: 'int8',
  [DT.UINT16]: 'uint16',
  [DT.INT16]: 'int16',
  [DT.INT32]: 'int32',
  [DT.INT64]: 'int64',
  [DT.STRING]: 'string',
  [DT.BOOL]: 'bool',
  [DT.FLOAT16]: 'float16',
  [DT.DOUBLE]: 'float64',
  [DT.UINT32]: 'uint32',
  [DT.UINT64]: 'uint64',
  [DT.COMPLEX64]: 'complex64',
  [DT.COMPLEX128]: 'complex128',
  [DT.BFLOAT16]: 'bfloat16',
  [DT.FLOAT8E4M3FN]: 'float8e4m3fn',
  [DT.FLOAT8E4M3FNUZ]: 'float8e4m3fnuz',
  [DT.FLOAT8E5M2]: 'float8e5m2',
  [DT.FLOAT8E5M2FNUZ]: 'float8e5m2fnuz',
  [DT.UINT4]: 'uint4',
  [DT.INT4]: 'int4',
};

/** A readable name for an element type, e.g. `float32`, as onnxruntime spells them. */
export function dtypeName(t: number): string {
  return NAMES[t] ?? `dtype#${t}`;
}

/** Bits one element takes in raw_data; 0 where the type has no fixed size (strings). */
export function dtypeBits(t: number): number {
  switch (t) {
    case DT.INT4:
    case DT.UINT4:
      return 4;
    case DT.UINT8:
    case DT.INT8:
    case DT.BOOL:
    case DT.FLOAT8E4M3FN:
    case DT.FLOAT8E4M3FNUZ:
    case DT.FLOAT8E5M2:
    case DT.FLOAT8E5M2FNUZ:
      return 8;
    case DT.UINT16:
    case DT.INT16:
    case DT.FLOAT16:
    case DT.BFLOAT16:
      return 16;
    case DT.FLOAT:
    case DT.INT32:
    case DT.UINT32:
      return 32;
    case DT.DOUBLE:
    case DT.INT64:
    case DT.UINT64:
    case DT.COMPLEX64:
      return 64;
    case DT.COMPLEX128:
      return 128;
    default:
      return 0;
  }
}

/** Allocates the typed array that holds `n` unpacked elements of type `t`. */
export function allocate(t: number, n: number): TypedArray {
  switch (t) {
    case DT.FLOAT:
      return new Float32Array(n);
    case DT.DOUBLE:
      return new Float64Array(n);
    case DT.INT8:
    case DT.INT4:
      return new Int8Array(n);
    case DT.UINT8:
    case DT.UINT4:
    case DT.BOOL:
    case DT.FLOAT8E4M3FN:
    case DT.FLOAT8E4M3FNUZ:
    case DT.FLOAT8E5M2:
    case DT.FLOAT8E5M2FNUZ:
      return new Uint8Array(n);
    case DT.INT16:
      return new Int16Array(n);
    case DT.UINT16:
    case DT.FLOAT16:
    case DT.BFLOAT16:
      return new Uint16Array(n);
    case DT.INT32:
      return new Int32Array(n);
    case DT.UINT32:
      return new Uint32Array(n);
    case DT.INT64:
      return new BigInt64Array(n);
    case DT.UINT64:
      return new BigUint64Array(n);
    default:
      fail('UNSUPPORTED_OP', `onnxq cannot read tensors of ONNX element type ${dtypeName(t)}.`);
  }
}

/** IEEE half (bits) to float32, exactly. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** bfloat16 (bits) to float32, exactly. */
export function bfloat16ToFloat(h: number): number {
  const u = new Uint32Array([h << 16]);
  return new Float32Array(u.buffer)[0]!;
}

/** onnxruntime's name for an ONNX element type ('float32', 'int64', …): the names above are its names. */
export const ortTypeName = dtypeName;

/** ONNX element type from onnxruntime's type name; 0 (UNDEFINED) when unknown. */
export function onnxTypeFromOrt(name: string): number {
  for (const [k, v] of Object.entries(NAMES)) if (v === name) return Number(k);
  return 0;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, rounding to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return h;
}

/** float32 → bfloat16 bits, rounding to nearest even. */
export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
