/**
 * .npy files on disk (Node only): read whole, written atomically, or opened to read one row at a
 * time, so that a file of many samples is never held whole in memory. The format itself is npy.ts.
 */
import fs from 'node:fs';
import { fail } from '../errors.js';
import { writeAtomic } from '../node/files.js';
import { decodeNpy, encodeNpy, headerLength, parseNpyHeader, PREFIX_MAX, rowReader, type ArrayReader, type NpyHeader } from './npy.js';
import type { HostTensor } from './source.js';

/** Reads the whole of a .npy file into memory. Prefer `openNpy` for calibration data. */
export function readNpy(file: string): HostTensor {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    fail('IO', `cannot read ${file}: ${(e as Error).message}`, e);
  }
  return decodeNpy(bytes, file);
}

/** Writes a tensor to a .npy file (atomically). */
export function writeNpy(file: string, t: HostTensor): void {
  writeAtomic(file, encodeNpy(t));
}

function readExactly(fd: number, length: number, position: number, where: string): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, buf, done, length - done, position + done);
    if (got === 0) fail('BAD_CALIBRATION', `${where} is truncated: reading bytes ${position}..${position + length} ran past its end.`);
    done += got;
  }
  return buf;
}

function openFd(file: string, where: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    fail('IO', `cannot read ${where}: ${(e as Error).message}`, e);
  }
}

/**
 * Opens a .npy lying in `file` at byte `base` (0 for a .npy file; the entry's offset for an
 * uncompressed .npz member) and `length` bytes long, reading only its header now. Each `readRow`
 * opens the file, reads that row's bytes at their offset and closes it again, so no file handle
 * outlives a call and memory holds one row at a time.
 */
export function openNpy(file: string, options: { base?: number; length?: number; where?: string } = {}): ArrayReader {
  const where = options.where ?? file;
  const base = options.base ?? 0;
  const fd = openFd(file, where);
  let header: NpyHeader;
  let available: number;
  try {
    available = options.length ?? fs.fstatSync(fd).size - base;
    const prefix = readExactly(fd, Math.min(PREFIX_MAX, available), base, where);
    const { dictStart, dictLength } = headerLength(prefix, where);
    if (dictStart + dictLength > available) fail('BAD_CALIBRATION', `${where} is truncated: its .npy header is incomplete.`);
    header = parseNpyHeader(readExactly(fd, dictStart + dictLength, base, where), where);
  } finally {
    fs.closeSync(fd);
  }
  return rowReader(header, available, where, (offset, length) => {
    const rfd = openFd(file, where);
    try {
      return readExactly(rfd, length, base + offset, where);
    } finally {
      fs.closeSync(rfd);
    }
  });
}
