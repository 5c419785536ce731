/**
 * NumPy .npz archives (numpy.savez / numpy.savez_compressed): a zip whose members are .npy files,
 * one per array, named `<key>.npy`. Stored members are read in place like a .npy file (one row at a
 * time from the file); deflated members up to INFLATE_WHOLE_LIMIT bytes are inflated once and kept,
 * larger ones are inflated forward on demand (see inflate.ts), so memory stays flat.
 */
import fs from 'node:fs';
import { fail } from '../errors.js';
import { InflateCursor } from './inflate.js';
import { decodeElements, elementCount, npyFromBytes, npyHeaderSize, parseNpyHeader, type ArrayReader } from './npy.js';
import { openNpy } from './npy-file.js';
import { checkMethod, inflateMember, npyMembers } from './npz-bytes.js';
import { listZip, type ZipEntry } from './zip.js';

/** Deflated members up to this many bytes (inflated) are inflated whole and kept in memory. */
export const INFLATE_WHOLE_LIMIT = 64 * 1024 * 1024;

export interface NpzOptions {
  /** Deflated members up to this many inflated bytes are inflated whole. Default INFLATE_WHOLE_LIMIT. */
  inflateWholeLimit?: number;
}

/** The arrays of an .npz, by key (the member name without `.npy`). Only headers are read. */
export function openNpz(file: string, options: NpzOptions = {}): Map<string, ArrayReader> {
  const limit = options.inflateWholeLimit ?? INFLATE_WHOLE_LIMIT;
  const arrays = new Map<string, ArrayReader>();
  for (const [key, entry] of npyMembers(listZipFile(file))) arrays.set(key, openMember(file, entry, `${file} entry ${entry.name}`, limit));
  return arrays;
}

/** Lists the members of the zip file `file`, reading only its directory. */
export function listZipFile(file: string): ZipEntry[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    fail('IO', `cannot read ${file}: ${(e as Error).message}`, e);
  }
  try {
    return listZip(fs.fstatSync(fd).size, (position, length) => {
      const buf = Buffer.alloc(length);
      let done = 0;
      for (let got = 1; done < length && got > 0; done += got) got = fs.readSync(fd, buf, done, length - done, position + done);
      return buf.subarray(0, done);
    }, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openMember(file: string, entry: ZipEntry, where: string, limit: number): ArrayReader {
  checkMethod(entry, where);
  if (entry.method === 0) return openNpy(file, { base: entry.dataOffset, length: entry.compressedSize, where });
  if (entry.size <= limit) return npyFromBytes(inflateWhole(file, entry, where), where);
  return openDeflatedNpy(file, entry, where);
}

function inflateWhole(file: string, entry: ZipEntry, where: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const compressed = Buffer.allocUnsafe(entry.compressedSize);
    let done = 0;
    while (done < compressed.length) {
      const got = fs.readSync(fd, compressed, done, compressed.length - done, entry.dataOffset + done);
      if (got === 0) fail('BAD_CALIBRATION', `${where} is truncated.`);
      done += got;
    }
    return inflateMember(compressed, entry, where);
  } finally {
    fs.closeSync(fd);
  }
}

function openDeflatedNpy(file: string, entry: ZipEntry, where: string): ArrayReader {
  const cursor = new InflateCursor(file, entry.dataOffset, entry.compressedSize, where);
  // The header is at most 12 + its stated length bytes; read the fixed prefix, then the rest.
  const headerBytes = npyHeaderSize(cursor.read(0, Math.min(12, entry.size)), where);
  if (headerBytes > entry.size) fail('BAD_CALIBRATION', `${where} is truncated: its .npy header is incomplete.`);
  const h = parseNpyHeader(cursor.read(0, headerBytes), where);
  const rowBytes = elementCount(h.dims.slice(1)) * h.itemSize;
  if (h.dataOffset + elementCount(h.dims) * h.itemSize > entry.size)
    fail('BAD_CALIBRATION', `${where} is truncated: its header promises more data than the member holds.`);
  return {
    where,
    dtype: h.dtype,
    dims: h.dims,
    readRow(i: number) {
      if (h.dims.length === 0 || !Number.isInteger(i) || i < 0 || i >= h.dims[0]!) throw new RangeError(`${where}: row ${i} is out of range`);
      return decodeElements(cursor.read(h.dataOffset + i * rowBytes, rowBytes), h.dtype, h.bigEndian);
    },
  };
}
