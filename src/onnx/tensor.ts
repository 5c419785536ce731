/**
 * TensorProto ⇄ typed arrays. Reads every storage form ONNX allows (raw_data little-endian, or
 * the typed repeated fields); writes raw_data only. 4-bit types are packed two per byte, low
 * nibble first, as the ONNX spec says.
 */
import { clearField, create } from '@bufbuild/protobuf';
import { externalOf } from './external.js';
import { TensorProtoSchema, type TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { DT, allocate, bfloat16ToFloat, dtypeBits, dtypeName, floatToHalf, halfToFloat, type TypedArray } from './dtype.js';

export interface TensorData {
  dtype: number;
  dims: number[];
  data: TypedArray;
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map(Number);
}

/** Bytes a tensor's values take (raw or typed fields, or in its external file; not counting the protobuf framing). */
export function tensorByteSize(t: TensorProto): number {
  const external = externalOf(t);
  if (external) return external.length;
  if (t.rawData.length > 0) return t.rawData.length;
  const bits = dtypeBits(t.dataType);
  return bits ? Math.ceil((numel(tensorDims(t)) * bits) / 8) : t.stringData.reduce((a, s) => a + s.length, 0);
}

/** A tensor's raw_data, read from its external file when it is still there. */
export function rawBytes(t: TensorProto): Uint8Array {
  return externalOf(t)?.read() ?? t.rawData;
}

/** Gives a tensor new values in raw_data (and a type), leaving any typed fields and external data behind. */
export function setRawData(t: TensorProto, dtype: number, raw: Uint8Array): void {
  Object.assign(t, { dataType: dtype, rawData: raw, floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [], externalData: [] });
  clearField(t, TensorProtoSchema.field.dataLocation);
}

export function readTensor(t: TensorProto): TensorData {
  const dims = tensorDims(t);
  const n = numel(dims);
  const dtype = t.dataType;
  const out = allocate(dtype, n);
  const raw = rawBytes(t);
  if (raw.length > 0) {
    const bits = dtypeBits(dtype);
    if (bits === 4) {
      unpack4(raw, out as Int8Array | Uint8Array, dtype === DT.INT4);
    } else {
      const expected = (n * bits) / 8;
      if (raw.length !== expected)
        fail('BAD_MODEL', `tensor '${t.name}' has ${raw.length} bytes of raw data where ${dtypeName(dtype)}[${dims.join(',')}] takes ${expected}: the model file is damaged or was written wrongly. Re-export it.`);
      // Copy: raw_data is often not aligned for the wider typed arrays, and the caller may edit it.
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
    }
    return { dtype, dims, data: out };
  }
  const fill = (src: ArrayLike<number | bigint>) => {
    if (src.length !== n && n !== 0) fail('BAD_MODEL', `tensor '${t.name}' holds ${src.length} values where its shape [${dims.join(',')}] takes ${n}: the model file is damaged or was written wrongly. Re-export it.`);
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) (out as BigInt64Array)[i] = BigInt(src[i]!);
    } else {
      for (let i = 0; i < n; i++) (out as Float32Array)[i] = Number(src[i]!);
    }
  };
  switch (dtype) {
    case DT.FLOAT:
      fill(t.floatData);
      break;
    case DT.DOUBLE:
      fill(t.doubleData);
      break;
    case DT.INT64:
      fill(t.int64Data);
      break;
    case DT.UINT32:
    case DT.UINT64:
      fill(t.uint64Data);
      break;
    case DT.INT4:
    case DT.UINT4: {
      const bytes = Uint8Array.from(t.int32Data);
      unpack4(bytes, out as Int8Array | Uint8Array, dtype === DT.INT4);
      break;
    }
    default:
      fill(t.int32Data);
  }
  return { dtype, dims, data: out };
}

/** Any float-valued tensor as float32 (float16, bfloat16 and double converted). */
export function readFloat32(t: TensorProto): Float32Array {
  const { dtype, data } = readTensor(t);
  if (dtype === DT.FLOAT) return data as Float32Array;
  if (dtype === DT.FLOAT16) return Float32Array.from(data as Uint16Array, halfToFloat);
  if (dtype === DT.BFLOAT16) return Float32Array.from(data as Uint16Array, bfloat16ToFloat);
  if (dtype === DT.DOUBLE) return Float32Array.from(data as Float64Array);
  fail('BAD_MODEL', `tensor '${t.name}' is ${dtypeName(dtype)} where onnxq needs a float tensor.`);
}

/** Integer tensor values as plain numbers (shapes, axes, indices); int64 beyond 2^53 is clamped. */
/** Whether every value of a float tensor is finite (no NaN, no ±Infinity): what quantization needs of a weight. */
export function allFinite(t: TensorProto): boolean {
  const data = readFloat32(t);
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) return false;
  return true;
}

export function readInts(t: TensorProto): number[] {
  const { data } = readTensor(t);
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function makeTensor(name: string, dtype: number, dims: readonly number[], data: TypedArray): TensorProto {
  const n = numel(dims);
  if (data.length !== n) throw new Error(`tensor '${name}': ${data.length} values for shape [${dims.join(',')}]`);
  const raw = dtypeBits(dtype) === 4 ? pack4(data as Int8Array | Uint8Array) : copyBytes(data);
  return create(TensorProtoSchema, { name, dataType: dtype, dims: dims.map(BigInt), rawData: raw });
}

/** A float32 tensor, or float16 when `dtype` says so (the values rounded to nearest even). */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array | readonly number[], dtype: number = DT.FLOAT): TensorProto {
  if (dtype === DT.FLOAT16) return makeTensor(name, DT.FLOAT16, dims, Uint16Array.from(data, floatToHalf));
  return makeTensor(name, DT.FLOAT, dims, data instanceof Float32Array ? data : Float32Array.from(data));
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  return makeTensor(name, DT.INT64, dims, BigInt64Array.from(values.map(BigInt)));
}

function copyBytes(data: TypedArray): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(data.byteLength);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

function unpack4(src: Uint8Array, out: Int8Array | Uint8Array, signed: boolean): void {
  for (let i = 0; i < out.length; i++) {
    const byte = src[i >> 1]!;
    let v = i & 1 ? byte >> 4 : byte & 0x0f;
    if (signed && v > 7) v -= 16;
    out[i] = v;
  }
}

function pack4(values: Int8Array | Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! & 0x0f;
    out[i >> 1] |= i & 1 ? v << 4 : v;
  }
  return out;
}
