import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeNpy, encodeNpy } from '../../src/data/npy.js';
import { openNpy, readNpy, writeNpy } from '../../src/data/npy-file.js';
import { convertElements } from '../../src/data/convert.js';
import { floatToHalf } from '../../src/onnx/dtype.js';
import { halfToFloat } from '../../src/onnx/dtype.js';
import { expectError, npy, rawNpy, tempDir, writeNpyFile } from './fixtures.js';

afterEach(() => vi.restoreAllMocks());

describe('.npy', () => {
  const cases = [
    npy('float32', [2, 3], new Float32Array([0, 1.5, -2, 3.25, 1e-8, -1e30])),
    npy('float64', [3], new Float64Array([Math.PI, -1 / 3, 1e300])),
    npy('float16', [2, 2], new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001])),
    npy('int8', [4], new Int8Array([-128, -1, 0, 127])),
    npy('uint8', [2, 2], new Uint8Array([0, 1, 128, 255])),
    npy('int16', [2], new Int16Array([-32768, 32767])),
    npy('uint16', [2], new Uint16Array([1, 65535])),
    npy('int32', [1, 2], new Int32Array([-2147483648, 2147483647])),
    npy('uint32', [2], new Uint32Array([0, 4294967295])),
    npy('int64', [2, 1], new BigInt64Array([-(2n ** 63n), 2n ** 40n + 7n])),
    npy('uint64', [1], new BigUint64Array([2n ** 64n - 1n])),
    npy('bool', [3], new Uint8Array([1, 0, 1])),
  ];
  it.each(cases)('reads $dtype', (t) => {
    const file = writeNpyFile(path.join(tempDir(), `${t.dtype}.npy`), t);
    const back = readNpy(file);
    expect(back.dtype).toBe(t.dtype);
    expect(back.dims).toEqual(t.dims);
    expect(back.data.constructor).toBe(t.data.constructor);
    expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    // Row reads from the file give the same values.
    const reader = openNpy(file);
    const row = reader.readRow(t.dims[0]! - 1);
    const rowLength = t.data.length / t.dims[0]!;
    expect(Array.from(row as ArrayLike<unknown>)).toEqual(Array.from(t.data.slice(-rowLength) as ArrayLike<unknown>));
  });

  it('reads format versions 2.0 and 3.0 and big-endian data', () => {
    const be = new Uint8Array([0x3f, 0x80, 0, 0, 0xc0, 0x00, 0, 0]); // 1.0, -2.0 as big-endian float32
    for (const version of [2, 3]) {
      const t = decodeNpy(rawNpy(`{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }`, be, version), 'be.npy');
      expect(t.dtype).toBe('float32');
      expect(Array.from(t.data as Float32Array)).toEqual([1, -2]);
    }
    const u2 = decodeNpy(rawNpy(`{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }`, new Uint8Array([1, 2, 0, 5])), 'u2.npy');
    expect(Array.from(u2.data as Uint16Array)).toEqual([258, 5]);
  });

  it('writes files numpy reads: 64-byte aligned data after a version 1.0 header', () => {
    const bytes = encodeNpy(npy('float32', [2, 3], new Float32Array(6)));
    expect(bytes[6]).toBe(1);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLength) % 64).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    expect(headerText).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(bytes.length).toBe(10 + headerLength + 24);
    const file = path.join(tempDir(), 'w.npy');
    writeNpy(file, npy('int32', [3], new Int32Array([1, 2, 3])));
    expect(Array.from(readNpy(file).data as Int32Array)).toEqual([1, 2, 3]);
    expect(new TextDecoder().decode(encodeNpy(npy('uint8', [4], new Uint8Array(4))).subarray(10, 100))).toContain("'shape': (4,)");
  });

  it('refuses Fortran order, saying how to fix it', async () => {
    const file = path.join(tempDir(), 'f.npy');
    fs.writeFileSync(file, rawNpy(`{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }`, new Uint8Array(16)));
    await expectError(() => openNpy(file), 'BAD_CALIBRATION', file, 'Fortran', 'ascontiguousarray');
  });

  it('refuses unsupported element types, non-npy files and truncated data', async () => {
    await expectError(() => decodeNpy(rawNpy(`{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8)), 'c.npy'), 'BAD_CALIBRATION', 'c.npy', "'<c8'");
    await expectError(() => decodeNpy(rawNpy(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(4)), 's.npy'), 'BAD_CALIBRATION', 'structured');
    const dir = tempDir();
    const text = path.join(dir, 'notes.npy');
    fs.writeFileSync(text, 'just some text, not numpy\n');
    await expectError(() => openNpy(text), 'BAD_CALIBRATION', text, 'not a NumPy .npy file');
    const short = path.join(dir, 'short.npy');
    fs.writeFileSync(short, encodeNpy(npy('float32', [10, 4], new Float32Array(40))).subarray(0, 64 + 100));
    await expectError(() => openNpy(short), 'BAD_CALIBRATION', short, 'truncated');
  });

  it('reads one row at its offset, never the whole file', () => {
    const rows = 4000;
    const cols = 256;
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = i % 9973;
    const file = writeNpyFile(path.join(tempDir(), 'big.npy'), npy('float32', [rows, cols], data));
    const reader = openNpy(file);
    const spy = vi.spyOn(fs, 'readSync');
    for (const i of [3999, 0, 2500]) {
      spy.mockClear();
      const row = reader.readRow(i) as Float32Array;
      expect(row.length).toBe(cols);
      for (let k = 0; k < cols; k += 17) expect(row[k]).toBe((i * cols + k) % 9973);
      const bytesRead = spy.mock.calls.reduce((sum, c) => sum + ((c as unknown[])[3] as number), 0);
      expect(bytesRead).toBe(cols * 4);
    }
    expect(() => reader.readRow(rows)).toThrow(RangeError);
  });
});

describe('element conversion', () => {
  it('rounds float32 to half like IEEE', () => {
    for (const v of [0, 1, -2, 0.1, 65504, 6.1e-5, 5.96e-8, 1e-9, 1e6, Infinity, -Infinity]) {
      const back = halfToFloat(floatToHalf(v));
      if (Math.abs(v) >= 65520) expect(back).toBe(Math.sign(v) * Infinity);
      else if (Math.abs(v) < 2.98e-8) expect(back).toBe(0);
      else expect(Math.abs(back - v) / Math.abs(v || 1)).toBeLessThan(v < 6.1e-5 ? 0.5 : 1e-3);
    }
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('converts between widths and refuses values that do not fit', async () => {
    expect(Array.from(convertElements(new BigInt64Array([5n, -7n]), 'int64', 'int32', 'x') as Int32Array)).toEqual([5, -7]);
    expect(Array.from(convertElements(new Int32Array([3]), 'int32', 'int64', 'x') as BigInt64Array)).toEqual([3n]);
    expect(Array.from(convertElements(new Uint16Array([0x3800]), 'float16', 'float32', 'x') as Float32Array)).toEqual([0.5]);
    await expectError(() => convertElements(new BigInt64Array([2n ** 40n]), 'int64', 'int32', 'ids.npy, sample 3'), 'BAD_CALIBRATION', 'ids.npy, sample 3', '1099511627776', 'int32');
    await expectError(() => convertElements(new Uint8Array([1]), 'uint8', 'float32', 'img.npy'), 'BAD_CALIBRATION', 'preprocessing');
  });
});
