import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCalibration } from '../../src/data/open.js';
import { listZipFile, openNpz } from '../../src/data/npz.js';
import { InflateCursor } from '../../src/data/inflate.js';
import { encodeNpy } from '../../src/data/npy.js';
import { expectError, input, npy, tempDir, writeNpyFile, writeNpz } from './fixtures.js';

const X = input('x', 'float32', ['batch', 3, 2]);
const MASK = input('mask', 'int64', ['batch', 4]);

function ramp(n: number, start = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => start + i);
}

describe('a .npy file', () => {
  it('gives rank-(r+1) arrays one element of the first axis per sample', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [5, 1, 3, 2], ramp(30)));
    const src = await openCalibration(file, [X]);
    expect(src.count).toBe(5);
    const s = await src.load(4);
    expect(s.x!.dims).toEqual([1, 3, 2]);
    expect(s.x!.dtype).toBe('float32');
    expect(Array.from(s.x!.data as Float32Array)).toEqual([24, 25, 26, 27, 28, 29]);
  });

  it('gives rank-r arrays a leading 1 per sample', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [5, 3, 2], ramp(30)));
    const src = await openCalibration(file, [X]);
    expect(src.count).toBe(5);
    const s = await src.load(1);
    expect(s.x!.dims).toEqual([1, 3, 2]);
    expect(Array.from(s.x!.data as Float32Array)).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('converts float64 to a float32 input', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float64', [2, 3, 2], Float64Array.from({ length: 12 }, (_, i) => i / 3)));
    const s = await (await openCalibration(file, [X])).load(1);
    expect(s.x!.data).toBeInstanceOf(Float32Array);
    expect(s.x!.data[0]).toBe(Math.fround(6 / 3));
    expect(s.x!.data[1]).toBe(Math.fround(7 / 3));
  });

  it('names the input, the expected and the found shape when a static dim differs', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [4, 3, 5], new Float32Array(60)));
    await expectError(() => openCalibration(file, [X]), 'BAD_CALIBRATION', file, "'x'", '[batch, 3, 2]', 'float32 [4, 3, 5]', 'axis 2 of the array is 5', '[N, 3, 2]');
  });

  it('refuses a rank that fits neither convention', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [6], new Float32Array(6)));
    await expectError(() => openCalibration(file, [X]), 'BAD_CALIBRATION', 'rank 1', 'rank 4 or 3');
  });

  it('refuses samples without a batch axis when the model fixes a batch larger than 1', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [16, 3, 2], new Float32Array(96)));
    await expectError(() => openCalibration(file, [input('x', 'float32', [8, 3, 2])]), 'BAD_CALIBRATION', 'fixed 8', '[N, 8, 3, 2]');
    // With the sample axis added it works.
    const ok = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [2, 8, 3, 2], new Float32Array(96)));
    expect((await (await openCalibration(ok, [input('x', 'float32', [8, 3, 2])])).load(1)).x!.dims).toEqual([8, 3, 2]);
  });

  it('refuses integer data for a float input', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('uint8', [2, 3, 2], new Uint8Array(12)));
    await expectError(() => openCalibration(file, [X]), 'BAD_CALIBRATION', file, 'uint8', "'x'", 'float32', 'astype(numpy.float32)');
  });

  it('refuses a .npy for a model with two inputs, naming them', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [2, 3, 2], new Float32Array(12)));
    await expectError(() => openCalibration(file, [X, MASK]), 'BAD_CALIBRATION', "'x', 'mask'", 'x.npy, mask.npy');
  });

  it('refuses a file with no samples', async () => {
    const file = writeNpyFile(path.join(tempDir(), 'x.npy'), npy('float32', [0, 3, 2], new Float32Array(0)));
    await expectError(() => openCalibration(file, [X]), 'BAD_CALIBRATION', 'no samples');
  });
});

describe('a .npz file', () => {
  const arrays = () => ({
    x: npy('float32', [3, 3, 2], ramp(18)),
    mask: npy('int64', [3, 4], BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i))),
  });

  for (const level of [0, 6] as const) {
    it(`reads ${level ? 'deflated' : 'stored'} arrays named after the inputs`, async () => {
      const file = writeNpz(path.join(tempDir(), 'calib.npz'), arrays(), level);
      const src = await openCalibration(file, [X, MASK]);
      expect(src.count).toBe(3);
      const s = await src.load(2);
      expect(s.x!.dims).toEqual([1, 3, 2]);
      expect(Array.from(s.x!.data as Float32Array)).toEqual([12, 13, 14, 15, 16, 17]);
      expect(s.mask!.dims).toEqual([1, 4]);
      expect(Array.from(s.mask!.data as BigInt64Array)).toEqual([8n, 9n, 10n, 11n]);
    });
  }

  it('converts int64 to an int32 input', async () => {
    const file = writeNpz(path.join(tempDir(), 'calib.npz'), arrays());
    const s = await (await openCalibration(file, [X, input('mask', 'int32', [null, 4])])).load(0);
    expect(s.mask!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(s.mask!.data as Int32Array)).toEqual([0, 1, 2, 3]);
  });

  it('names missing and extra arrays', async () => {
    const file = writeNpz(path.join(tempDir(), 'calib.npz'), { x: arrays().x, extra: arrays().x });
    await expectError(() => openCalibration(file, [X, MASK]), 'BAD_CALIBRATION', file, "'mask' (expected entry mask.npy)", 'entry extra.npy matches no model input');
  });

  it('names arrays that disagree on the sample count', async () => {
    const a = arrays();
    a.mask = npy('int64', [2, 4], new BigInt64Array(8));
    const file = writeNpz(path.join(tempDir(), 'calib.npz'), a);
    await expectError(() => openCalibration(file, [X, MASK]), 'BAD_CALIBRATION', 'entry x.npy has 3', 'entry mask.npy has 2');
  });

  it('matches numpy positional names in input order, with a note', async () => {
    const file = writeNpz(path.join(tempDir(), 'calib.npz'), { arr_0: arrays().x, arr_1: arrays().mask });
    const src = await openCalibration(file, [X, MASK]);
    expect(src.notes?.join()).toContain('arr_0 → x');
    expect((await src.load(0)).mask!.dims).toEqual([1, 4]);
  });

  it('refuses a file that is not a zip', async () => {
    const file = path.join(tempDir(), 'calib.npz');
    fs.writeFileSync(file, 'definitely not a zip file, just words words words');
    await expectError(() => openCalibration(file, [X]), 'BAD_CALIBRATION', file, 'not a valid .npz');
  });

  it('inflates large deflated members forward, on demand', async () => {
    const rows = 400;
    const cols = 300;
    const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 1000);
    const file = writeNpz(path.join(tempDir(), 'big.npz'), { x: npy('float32', [rows, cols], data) }, 6);
    const x = openNpz(file, { inflateWholeLimit: 0 }).get('x')!;
    for (const i of [0, 1, 250, 399, 3, 3]) {
      const row = x.readRow(i) as Float32Array;
      expect(Array.from(row.subarray(0, 5))).toEqual(Array.from(data.subarray(i * cols, i * cols + 5)));
      expect(row[cols - 1]).toBe(data[i * cols + cols - 1]);
    }
    // The cursor returns exact byte ranges, forward and backward.
    const entry = listZipFile(file)[0]!;
    const whole = encodeNpy(npy('float32', [rows, cols], data));
    const cursor = new InflateCursor(file, entry.dataOffset, entry.compressedSize, 'big');
    for (const [start, length] of [[0, 10], [100_000, 70_000], [170_000, 5], [50, 400_000], [whole.length - 7, 7]] as const)
      expect(Buffer.compare(Buffer.from(cursor.read(start, length)), Buffer.from(whole.subarray(start, start + length)))).toBe(0);
  });
});

describe('a folder of .npy files', () => {
  it('reads one file per input, named after it', async () => {
    const dir = tempDir();
    writeNpyFile(path.join(dir, 'x.npy'), npy('float32', [2, 3, 2], ramp(12, 100)));
    writeNpyFile(path.join(dir, 'mask.npy'), npy('int64', [2, 4], new BigInt64Array(8).fill(1n)));
    fs.writeFileSync(path.join(dir, 'README.txt'), 'how these were made');
    const src = await openCalibration(dir, [X, MASK]);
    expect(src.count).toBe(2);
    expect(src.notes?.join()).toContain('README.txt');
    const s = await src.load(1);
    expect(Array.from(s.x!.data as Float32Array)).toEqual([106, 107, 108, 109, 110, 111]);
    expect(Array.from(s.mask!.data as BigInt64Array)).toEqual([1n, 1n, 1n, 1n]);
  });

  it('accepts file-safe names for inputs whose names hold / or :', async () => {
    const dir = tempDir();
    writeNpyFile(path.join(dir, 'image_input_0.npy'), npy('float32', [2, 3, 2], ramp(12)));
    const src = await openCalibration(dir, [input('image/input:0', 'float32', [1, 3, 2])]);
    expect(Object.keys(await src.load(0))).toEqual(['image/input:0']);
  });

  it('names a missing input file and an unexpected one', async () => {
    const dir = tempDir();
    writeNpyFile(path.join(dir, 'x.npy'), npy('float32', [2, 3, 2], ramp(12)));
    writeNpyFile(path.join(dir, 'y.npy'), npy('float32', [2, 3, 2], ramp(12)));
    await expectError(() => openCalibration(dir, [X, MASK]), 'BAD_CALIBRATION', dir, "'mask' (expected mask.npy)", 'y.npy matches no model input');
  });

  it('names a file whose dtype does not fit', async () => {
    const dir = tempDir();
    writeNpyFile(path.join(dir, 'x.npy'), npy('float32', [2, 3, 2], ramp(12)));
    const mask = writeNpyFile(path.join(dir, 'mask.npy'), npy('float32', [2, 4], new Float32Array(8)));
    await expectError(() => openCalibration(dir, [X, MASK]), 'BAD_CALIBRATION', mask, "'mask'", 'int64');
  });
});

describe('openCalibration paths', () => {
  it('refuses an empty folder, a folder of other files, a missing path and an unknown file', async () => {
    const empty = tempDir();
    await expectError(() => openCalibration(empty, [X]), 'BAD_CALIBRATION', empty, 'is empty');
    const other = tempDir();
    fs.writeFileSync(path.join(other, 'labels.csv'), 'a,b\n');
    await expectError(() => openCalibration(other, [X]), 'BAD_CALIBRATION', 'no images and no .npy', 'labels.csv');
    await expectError(() => openCalibration(path.join(empty, 'nope'), [X]), 'IO', 'no such file');
    const csv = path.join(other, 'labels.csv');
    await expectError(() => openCalibration(csv, [X]), 'BAD_CALIBRATION', csv, '.npz');
  });
});
