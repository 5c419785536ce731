/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0, as numpy.lib.format describes them):
 * magic "\x93NUMPY", version, header length (uint16 in 1.0, uint32 in 2.0/3.0), a Python dict
 * literal {'descr', 'fortran_order', 'shape'}, then the raw elements in C order. Encoding, decoding
 * and row readers over any byte source; npy-file.ts reads and writes files.
 */
import { fail } from '../errors.js';
import type { TypedArray } from '../onnx/dtype.js';
import type { HostTensor } from './source.js';

/** The header of a .npy: element type (onnxruntime name), shape and where the elements start. */
export interface NpyHeader {
  dtype: string;
  dims: number[];
  /** Bytes per element. */
  itemSize: number;
  /** Elements are stored big-endian (they are byte-swapped when read). */
  bigEndian: boolean;
  /** Offset of the first element from the start of the .npy data. */
  dataOffset: number;
}

/** Reads an array one row (a slice along the first axis) at a time. */
export interface ArrayReader {
  /** Where the array lives, for messages: `calib/x.npy`, `calib.npz entry x.npy`. */
  readonly where: string;
  readonly dtype: string;
  readonly dims: number[];
  /** The elements of row `i` (0 ≤ i < dims[0]) in the array's own dtype. */
  readRow(i: number): TypedArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Bytes before the header dict in a version 2.0/3.0 file (1.0 uses 10). */
export const PREFIX_MAX = 12;

/** numpy kind+size → onnxruntime dtype name. */
const KINDS: Record<string, string> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  b1: 'bool',
};

const DESCR: Record<string, string> = Object.fromEntries(
  Object.entries(KINDS).map(([k, v]) => [v, (k.endsWith('1') ? '|' : '<') + k]),
);

const HINT = 'Save it with numpy.save from a plain numeric array (float32, float64, float16, int8/16/32/64, uint8/16/32/64 or bool).';

/** How many bytes the header occupies, from the first 12 bytes of the file (or fewer, for tiny ones). */
export function headerLength(prefix: Uint8Array, where: string): { version: number; dictStart: number; dictLength: number } {
  if (prefix.length < 10 || MAGIC.some((b, i) => prefix[i] !== b))
    fail('BAD_CALIBRATION', `${where} is not a NumPy .npy file (it does not start with the \\x93NUMPY magic). ${HINT}`);
  const major = prefix[6]!;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return { version: 1, dictStart: 10, dictLength: view.getUint16(8, true) };
  if (major === 2 || major === 3) {
    if (prefix.length < PREFIX_MAX) fail('BAD_CALIBRATION', `${where} is truncated: its .npy header is incomplete.`);
    return { version: major, dictStart: 12, dictLength: view.getUint32(8, true) };
  }
  fail('BAD_CALIBRATION', `${where} uses .npy format version ${major}.${prefix[7]}, which onnxq does not read (it reads 1.0, 2.0 and 3.0). ${HINT}`);
}

function parseDict(text: string, where: string, dataOffset: number): NpyHeader {
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  if (!descrMatch) {
    if (/['"]descr['"]\s*:\s*\[/.test(text))
      fail('BAD_CALIBRATION', `${where} holds a structured (record) array, which cannot feed a model input. ${HINT}`);
    fail('BAD_CALIBRATION', `${where} has a malformed .npy header (no 'descr'): ${text.trim()}`);
  }
  const descr = descrMatch[2]!;
  const order = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  if (!order) fail('BAD_CALIBRATION', `${where} has a malformed .npy header (no 'fortran_order'): ${text.trim()}`);
  if (order[1] === 'True')
    fail('BAD_CALIBRATION', `${where} is stored in Fortran (column-major) order; onnxq reads C order only. Re-save it with numpy.save(path, numpy.ascontiguousarray(a)).`);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!shapeMatch) fail('BAD_CALIBRATION', `${where} has a malformed .npy header (no 'shape'): ${text.trim()}`);
  const dims = shapeMatch[1]!
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s);
      if (!Number.isSafeInteger(d) || d < 0) fail('BAD_CALIBRATION', `${where} has a malformed .npy shape (${shapeMatch[1]}).`);
      return d;
    });

  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const dtype = m ? KINDS[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype) fail('BAD_CALIBRATION', `${where} holds elements of numpy type '${descr}', which cannot feed a model input. ${HINT}`);
  const itemSize = Number(m[3]);
  const bigEndian = itemSize > 1 && (m[1] === '>' || (m[1] === '=' && !LITTLE_ENDIAN_HOST));
  return { dtype, dims, itemSize, bigEndian, dataOffset };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Total header bytes of a .npy, from its first 12 bytes (fewer for a tiny file). */
export function npyHeaderSize(prefix: Uint8Array, where: string): number {
  const { dictStart, dictLength } = headerLength(prefix, where);
  return dictStart + dictLength;
}

/** Parses the header of a .npy held in memory (`bytes` may be just the header or the whole file). */
export function parseNpyHeader(bytes: Uint8Array, where: string): NpyHeader {
  const { dictStart, dictLength } = headerLength(bytes.subarray(0, PREFIX_MAX), where);
  const end = dictStart + dictLength;
  if (bytes.length < end) fail('BAD_CALIBRATION', `${where} is truncated: its .npy header is incomplete.`);
  const text = new TextDecoder().decode(bytes.subarray(dictStart, end));
  return parseDict(text, where, end);
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Turns raw little- or big-endian element bytes into a fresh, aligned typed array. */
export function decodeElements(bytes: Uint8Array, dtype: string, bigEndian: boolean): TypedArray {
  const out = allocateFor(dtype, bytes.length / itemSizeOf(dtype));
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  dst.set(bytes);
  if (bigEndian) {
    const size = itemSizeOf(dtype);
    for (let i = 0; i < dst.length; i += size) dst.subarray(i, i + size).reverse();
  }
  return out;
}

export function itemSizeOf(dtype: string): number {
  const k = Object.keys(KINDS).find((key) => KINDS[key] === dtype);
  if (!k) throw new Error(`no numpy element type for ${dtype}`);
  return Number(k.slice(1));
}

/** The typed array onnxruntime uses for `dtype` (float16 as raw bits in a Uint16Array, bool as Uint8Array). */
export function allocateFor(dtype: string, n: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': return new Uint16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    default: throw new Error(`no typed array for ${dtype}`);
  }
}

/** Decodes a whole .npy held in memory. */
export function decodeNpy(bytes: Uint8Array, where: string): HostTensor {
  const h = parseNpyHeader(bytes, where);
  const n = elementCount(h.dims) * h.itemSize;
  if (bytes.length < h.dataOffset + n)
    fail('BAD_CALIBRATION', `${where} is truncated: its header promises ${n} bytes of data for shape [${h.dims.join(', ')}], the file has ${bytes.length - h.dataOffset}.`);
  return { dtype: h.dtype, dims: h.dims, data: decodeElements(bytes.subarray(h.dataOffset, h.dataOffset + n), h.dtype, h.bigEndian) };
}

/** Encodes a tensor as a version 1.0 .npy (2.0 when the header needs it), little-endian, C order. */
export function encodeNpy(t: HostTensor): Uint8Array {
  const descr = DESCR[t.dtype];
  if (!descr) throw new Error(`cannot write ${t.dtype} to .npy`);
  const n = elementCount(t.dims);
  if (t.data.length !== n) throw new Error(`encodeNpy: ${t.data.length} elements for shape [${t.dims.join(', ')}]`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const big = dict.length + 11 > 0xffff;
  const prefix = big ? 12 : 10;
  // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary, as numpy does.
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = big ? 2 : 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (big) view.setUint32(8, dict.length, true);
  else view.setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), prefix);
  const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  out.set(src, total);
  if (!LITTLE_ENDIAN_HOST) {
    const size = itemSizeOf(t.dtype);
    for (let i = total; i < out.length; i += size) out.subarray(i, i + size).reverse();
  }
  return out;
}

/** An ArrayReader over a .npy held in memory (e.g. a compressed .npz member). */
export function npyFromBytes(bytes: Uint8Array, where: string): ArrayReader {
  return rowReader(parseNpyHeader(bytes, where), bytes.length, where, (offset, length) => bytes.subarray(offset, offset + length));
}

/** Rows of the array behind a header, read on demand with `read(offset, length)` (offsets from the header's start). */
export function rowReader(h: NpyHeader, available: number, where: string, read: (offset: number, length: number) => Uint8Array): ArrayReader {
  const needed = elementCount(h.dims) * h.itemSize;
  if (h.dataOffset + needed > available)
    fail('BAD_CALIBRATION', `${where} is truncated: its header promises ${needed} bytes of data for shape [${h.dims.join(', ')}], it has ${Math.max(0, available - h.dataOffset)}.`);
  const rowBytes = elementCount(h.dims.slice(1)) * h.itemSize;
  return {
    where,
    dtype: h.dtype,
    dims: h.dims,
    readRow(i: number): TypedArray {
      checkRow(i, h.dims, where);
      return decodeElements(read(h.dataOffset + i * rowBytes, rowBytes), h.dtype, h.bigEndian);
    },
  };
}

function checkRow(i: number, dims: number[], where: string): void {
  if (dims.length === 0) throw new Error(`${where}: a 0-d array has no rows`);
  if (!Number.isInteger(i) || i < 0 || i >= dims[0]!) throw new RangeError(`${where}: row ${i} is out of range 0..${dims[0]! - 1}`);
}
