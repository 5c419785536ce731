import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCalibration } from '../../src/data/open.js';
import { planImages } from '../../src/data/pixels.js';
import { expectError, input, solid, tempDir, writeImage, writeNpyFile, npy } from './fixtures.js';

// A 2×2 image: red, green / blue, (10, 20, 30).
const PIXELS = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];

async function quad(): Promise<string> {
  const dir = tempDir();
  await writeImage(path.join(dir, 'quad.png'), 2, 2, PIXELS);
  return dir;
}

const close = (got: ArrayLike<number>, want: number[]) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 5));
};

describe('a folder of images', () => {
  it('gives NCHW RGB scaled by 1/255 by default', async () => {
    const src = await openCalibration(await quad(), [input('img', 'float32', [1, 3, 2, 2])]);
    expect(src.count).toBe(1);
    const t = (await src.load(0)).img!;
    expect(t.dims).toEqual([1, 3, 2, 2]);
    expect(t.data).toBeInstanceOf(Float32Array);
    close(t.data as Float32Array, [1, 0, 0, 10 / 255, 0, 1, 0, 20 / 255, 0, 0, 1, 30 / 255]);
  });

  it('orders channels BGR and lays out NHWC when asked or when the model says so', async () => {
    const dir = await quad();
    const bgr = (await (await openCalibration(dir, [input('img', 'float32', ['n', 3, 2, 2])], { channels: 'bgr', scale: 1 })).load(0)).img!;
    expect(Array.from(bgr.data as Float32Array)).toEqual([0, 0, 255, 30, 0, 255, 0, 20, 255, 0, 0, 10]);
    const nhwc = (await (await openCalibration(dir, [input('img', 'float32', ['n', 2, 2, 3])], { scale: 1 })).load(0)).img!;
    expect(nhwc.dims).toEqual([1, 2, 2, 3]);
    expect(Array.from(nhwc.data as Float32Array)).toEqual(PIXELS);
  });

  it('gives gray for a one-channel input, with the Rec. 601 weights', async () => {
    const t = (await (await openCalibration(await quad(), [input('img', 'float32', [1, 1, 2, 2])], { scale: 1 })).load(0)).img!;
    expect(t.dims).toEqual([1, 1, 2, 2]);
    const gray = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    expect(Array.from(t.data as Float32Array)).toEqual([gray(255, 0, 0), gray(0, 255, 0), gray(0, 0, 255), gray(10, 20, 30)]);
  });

  it('applies (pixel·scale − mean) / std per output channel', async () => {
    const options = { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] };
    const t = (await (await openCalibration(await quad(), [input('img', 'float32', [1, 3, 2, 2])], options)).load(0)).img!;
    const v = (p: number, c: number) => (p / 255 - options.mean[c]!) / options.std[c]!;
    close(t.data as Float32Array, [v(255, 0), v(0, 0), v(0, 0), v(10, 0), v(0, 1), v(255, 1), v(0, 1), v(20, 1), v(0, 2), v(0, 2), v(255, 2), v(30, 2)]);
  });

  it('stretches to H×W, or fits inside and pads right and bottom with 0 after normalising', async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, 'wide.png'), 20, 10, solid(20, 10, [200, 100, 50])); // 20 wide, 10 high
    const model = [input('img', 'float32', [1, 3, 8, 8])];
    const options = { mean: 0.5, std: 0.5 };
    const value = (p: number) => (p / 255 - 0.5) / 0.5;

    const stretched = (await (await openCalibration(dir, model, options)).load(0)).img!.data as Float32Array;
    for (let y = 0; y < 8; y++) expect(stretched[y * 8 + 7]).toBeCloseTo(value(200), 5);

    const padded = (await (await openCalibration(dir, model, { ...options, resize: 'fit-pad' })).load(0)).img!.data as Float32Array;
    // Scale 0.4: the image becomes 8×4 at the top; rows 4–7 are padding.
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          const got = padded[(c * 8 + y) * 8 + x]!;
          if (y < 4) expect(got).toBeCloseTo(value([200, 100, 50][c]!), 5);
          else expect(got).toBe(0);
        }
  });

  it('pads on the right for a tall image', async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, 'tall.png'), 3, 12, solid(3, 12, [255, 255, 255]));
    const t = (await (await openCalibration(dir, [input('img', 'float32', [1, 1, 6, 6])], { resize: 'fit-pad' })).load(0)).img!;
    const rows = [];
    for (let y = 0; y < 6; y++) rows.push(Array.from((t.data as Float32Array).subarray(y * 6, y * 6 + 6)).join(''));
    expect(new Set(rows)).toEqual(new Set(['110000'])); // 1.5 wide rounds to 2 columns, the rest is padding
  });

  it('asks for --size when the height or width is free, and uses it', async () => {
    const dir = await quad();
    const rec = [input('x', 'float32', ['b', 3, 48, 'w'])];
    await expectError(() => openCalibration(dir, rec), 'BAD_OPTION', "'x'", '--size HxW', '48x');
    const t = (await (await openCalibration(dir, rec, { size: [48, 64], resize: 'fit-pad' })).load(0)).x!;
    expect(t.dims).toEqual([1, 3, 48, 64]);
    await expectError(() => openCalibration(dir, rec, { size: [32, 64] }), 'BAD_OPTION', '--size 32x64', '--size 48x64');
  });

  it('walks subfolders in sorted order, skipping other files with a note', async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, 'b', 'two.png'), 1, 1, [2, 2, 2]);
    await writeImage(path.join(dir, 'a', 'one.png'), 1, 1, [1, 1, 1]);
    await writeImage(path.join(dir, 'c.png'), 1, 1, [3, 3, 3]);
    fs.writeFileSync(path.join(dir, 'labels.txt'), 'cat\ndog\n');
    fs.writeFileSync(path.join(dir, 'old.bmp'), 'BM');
    fs.writeFileSync(path.join(dir, '.DS_Store'), '');
    const src = await openCalibration(dir, [input('img', 'float32', [1, 1, 1, 1])], { scale: 1 });
    expect(src.count).toBe(3);
    const values = [];
    for (let i = 0; i < 3; i++) values.push((await src.load(i)).img!.data[0]);
    expect(values).toEqual([1, 2, 3]);
    const notes = src.notes!.join('\n');
    expect(notes).toContain('skipped 2 files');
    expect(notes).toContain('labels.txt');
    expect(notes).toContain('BMP');
    expect(notes).not.toContain('.DS_Store');
  });

  it('names an image that cannot be decoded', async () => {
    const dir = await quad();
    const bad = path.join(dir, 'broken.jpg');
    fs.writeFileSync(bad, 'this is a text file with a .jpg name\n');
    const src = await openCalibration(dir, [input('img', 'float32', [1, 3, 2, 2])]);
    await expectError(() => src.load(0), 'BAD_CALIBRATION', bad, 'cannot decode image');
    expect((await src.load(1)).img!.dims).toEqual([1, 3, 2, 2]);
  });

  it('decodes JPEG and feeds raw pixels to a uint8 input', async () => {
    const dir = tempDir();
    await writeImage(path.join(dir, 'gray.jpg'), 4, 4, solid(4, 4, [128, 128, 128]), 'jpeg');
    const t = (await (await openCalibration(dir, [input('img', 'uint8', [1, 4, 4, 3])])).load(0)).img!;
    expect(t.dtype).toBe('uint8');
    expect(t.data).toBeInstanceOf(Uint8Array);
    for (const v of t.data as Uint8Array) expect(Math.abs(v - 128)).toBeLessThanOrEqual(1);
    await expectError(() => openCalibration(dir, [input('img', 'uint8', [1, 4, 4, 3])], { scale: 1 / 255 }), 'BAD_OPTION', 'raw uint8');
  });

  it('reads a single image file as the only sample', async () => {
    const dir = await quad();
    const src = await openCalibration(path.join(dir, 'quad.png'), [input('img', 'float32', [1, 3, 2, 2])]);
    expect(src.count).toBe(1);
    expect(src.notes!.join()).toContain('single image');
  });

  it('refuses folders with both images and arrays, and models an image folder cannot feed', async () => {
    const dir = await quad();
    const img = [input('img', 'float32', [1, 3, 2, 2])];
    await expectError(() => openCalibration(dir, [...img, input('scale', 'float32', [1, 2])]), 'BAD_CALIBRATION', "'img', 'scale'");
    await expectError(() => openCalibration(dir, [input('tokens', 'int64', [1, 16])]), 'BAD_CALIBRATION', "'tokens'", 'rank-4', '.npz');
    writeNpyFile(path.join(dir, 'img.npy'), npy('float32', [1, 3, 2, 2], new Float32Array(12)));
    await expectError(() => openCalibration(dir, img), 'BAD_CALIBRATION', 'both .npy files and images');
  });
});

describe('planImages', () => {
  it('infers layout, channels and size from the input', () => {
    expect(planImages(input('x', 'float32', [1, 3, 224, 224]))).toMatchObject({ layout: 'nchw', channels: 'rgb', height: 224, width: 224, resize: 'stretch', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(planImages(input('x', 'float32', ['n', 32, 100, 1]))).toMatchObject({ layout: 'nhwc', channels: 'gray', height: 32, width: 100 });
  });

  it('refuses contradictory options, naming the input', async () => {
    const x = input('x', 'float32', [1, 3, 8, 8]);
    await expectError(() => planImages(x, { channels: 'gray' }), 'BAD_OPTION', "'x'", '3 channels', '--channels rgb');
    await expectError(() => planImages(x, { mean: [1, 2] }), 'BAD_OPTION', '--mean needs 1 or 3 values');
    await expectError(() => planImages(x, { std: 0 }), 'BAD_OPTION', '--std');
    await expectError(() => planImages(input('x', 'float32', ['n', 'c', 'h', 'w'])), 'BAD_OPTION', '--layout');
    await expectError(() => planImages(input('x', 'float32', [4, 3, 8, 8])), 'BAD_CALIBRATION', 'fixed batch of 4');
  });
});
