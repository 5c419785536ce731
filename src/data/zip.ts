/**
 * Just enough of the ZIP format (PKWARE APPNOTE 6.3, with ZIP64) to find the members of an .npz:
 * the end-of-central-directory record at the file's end points at the central directory, which
 * lists each member's name, compression method, sizes and local header; the member's data follows
 * its local header. Nothing is decompressed here and only the directory is read, through `read`, so
 * that a file (npz.ts) and bytes in memory (npz-bytes.ts, in a browser) are listed alike.
 */
import { fail } from '../errors.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Absolute offset of the member's (possibly compressed) data in the file. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** `length` bytes of the zip from `position`, fewer where it ends sooner. */
export type ZipReader = (position: number, length: number) => Uint8Array;

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

/** Lists the members of a zip of `size` bytes read through `read`; `where` names it in messages. */
export function listZip(size: number, read: ZipReader, where: string): ZipEntry[] {
  const readAt = (position: number, length: number): DataView => {
    const buf = read(position, length);
    if (buf.length < length) fail('BAD_CALIBRATION', `${where} is not a valid .npz (zip) file: it is truncated.`);
    return new DataView(buf.buffer, buf.byteOffset, length);
  };
  const notZip = () => fail('BAD_CALIBRATION', `${where} is not a valid .npz file (no zip directory found). Write it with numpy.savez or numpy.savez_compressed.`);
  // The end record is 22 bytes plus a comment of up to 65535 bytes, at the very end.
  const tailLength = Math.min(size, 22 + 0xffff);
  if (tailLength < 22) notZip();
  const tail = readAt(size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--)
    if (tail.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  if (eocd < 0) notZip();
  let count = tail.getUint16(eocd + 10, true);
  let dirSize = tail.getUint32(eocd + 12, true);
  let dirOffset = tail.getUint32(eocd + 16, true);
  const locatorAt = size - tailLength + eocd - 20;
  if ((count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) && locatorAt >= 0) {
    const locator = readAt(locatorAt, 20);
    if (locator.getUint32(0, true) === ZIP64_LOCATOR) {
      const rec = readAt(u64(locator, 8), 56);
      if (rec.getUint32(0, true) !== ZIP64_EOCD) notZip();
      count = u64(rec, 32);
      dirSize = u64(rec, 40);
      dirOffset = u64(rec, 48);
    }
  }
  if (dirOffset + dirSize > size) notZip();
  const dir = readAt(dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > dirSize || dir.getUint32(p, true) !== CENTRAL) notZip();
    const flags = dir.getUint16(p + 8, true);
    const method = dir.getUint16(p + 10, true);
    let compressedSize = dir.getUint32(p + 20, true);
    let uncompressed = dir.getUint32(p + 24, true);
    const nameLength = dir.getUint16(p + 28, true);
    const extraLength = dir.getUint16(p + 30, true);
    const commentLength = dir.getUint16(p + 32, true);
    let localOffset = dir.getUint32(p + 42, true);
    const nameBytes = new Uint8Array(dir.buffer, dir.byteOffset + p + 46, nameLength);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(nameBytes);
    // ZIP64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = dir.getUint16(e, true);
      const len = dir.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressed === 0xffffffff) (uncompressed = u64(dir, q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(dir, q)), (q += 8);
        if (localOffset === 0xffffffff) localOffset = u64(dir, q);
      }
      e += 4 + len;
    }
    p = extraEnd + commentLength;
    if (flags & 0x1) fail('BAD_CALIBRATION', `${where}: member '${name}' is encrypted; onnxq reads unencrypted .npz files only.`);
    const local = readAt(localOffset, 30);
    if (local.getUint32(0, true) !== LOCAL) notZip();
    const dataOffset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + compressedSize > size) fail('BAD_CALIBRATION', `${where} is truncated: member '${name}' runs past the end of the file.`);
    entries.push({ name, method, compressedSize, size: uncompressed, dataOffset });
  }
  return entries;
}
