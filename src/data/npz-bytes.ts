/**
 * An .npz held in memory (a file picked in a browser): its members listed by zip.ts, stored members
 * read in place, deflated ones inflated once. npz.ts reads .npz files without holding them whole.
 */
import { inflateSync } from 'fflate';
import { fail } from '../errors.js';
import { npyFromBytes, type ArrayReader } from './npy.js';
import { listZip, type ZipEntry } from './zip.js';

/** The .npy members of a zip listing, by key (the member name without `.npy`); folder records and other files are left out. */
export function npyMembers(entries: readonly ZipEntry[]): Map<string, ZipEntry> {
  return new Map(entries.filter((e) => e.name.endsWith('.npy')).map((e) => [e.name.slice(0, -'.npy'.length), e]));
}

/** Checks that a member is stored or deflated, the two methods numpy writes. */
export function checkMethod(entry: ZipEntry, where: string): void {
  if (entry.method !== 0 && entry.method !== 8)
    fail('BAD_CALIBRATION', `${where} is compressed with zip method ${entry.method}; onnxq reads stored or deflated members. Re-write it with numpy.savez or numpy.savez_compressed.`);
}

/** A deflated member's bytes, inflated to the size its directory entry gives. */
export function inflateMember(compressed: Uint8Array, entry: ZipEntry, where: string): Uint8Array {
  try {
    return inflateSync(compressed, { out: new Uint8Array(entry.size) });
  } catch (e) {
    fail('BAD_CALIBRATION', `${where} is corrupt: ${(e as Error).message}. Re-write the .npz with numpy.savez or numpy.savez_compressed.`, e);
  }
}

/** The arrays of an .npz given as bytes; `where` names it in messages. */
export function npzFromBytes(bytes: Uint8Array, where: string): Map<string, ArrayReader> {
  const arrays = new Map<string, ArrayReader>();
  const entries = listZip(bytes.length, (position, length) => bytes.subarray(position, position + length), where);
  for (const [key, entry] of npyMembers(entries)) {
    const member = `${where} entry ${entry.name}`;
    checkMethod(entry, member);
    const stored = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
    arrays.set(key, npyFromBytes(entry.method === 0 ? stored : inflateMember(stored, entry, member), member));
  }
  return arrays;
}
