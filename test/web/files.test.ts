/**
 * The page's files as the core takes them, checked in Node (its File is the browser's): a picked model
 * with and without its external data file, and picked calibration files — an .npz (stored and deflated,
 * read from bytes), .npy files named after the inputs, a mix the page must refuse — giving the same
 * samples as --calib gives from the same files on disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { loadModel, openCalibrationFiles } from '../../src/web/files.js';
import { openCalibration } from '../../src/data/open.js';
import { readFloat32 } from '../../src/onnx/tensor.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import { buildModel } from '../helpers/build.js';
import { expectError, input, npy, tempDir, writeNpyFile, writeNpz } from '../data/fixtures.js';

const X = input('x', 'float32', ['batch', 3, 2]);
const MASK = input('mask', 'int64', ['batch', 4]);
const picked = (file: string, relative = '') => Object.assign(new File([fs.readFileSync(file)], path.basename(file)), relative ? { webkitRelativePath: relative } : {});

describe('calibration files picked in a page', () => {
  it('reads an .npz from bytes, stored or deflated, as --calib reads it from disk', async () => {
    const dir = tempDir();
    const arrays = { x: npy('float32', [3, 3, 2], Float32Array.from({ length: 18 }, (_, i) => i * 0.5)), mask: npy('int64', [3, 4], BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i % 2))) };
    for (const level of [0, 6] as const) {
      const file = writeNpz(path.join(dir, `c${level}.npz`), arrays, level);
      const [fromBytes, fromDisk] = [await openCalibrationFiles([picked(file)], [X, MASK]), await openCalibration(file, [X, MASK])];
      expect(fromBytes.count).toBe(3);
      for (let i = 0; i < 3; i++) expect(await fromBytes.load(i)).toEqual(await fromDisk.load(i));
    }
  });

  it('binds .npy files named after the inputs, as a folder of them', async () => {
    const dir = tempDir();
    const files = [
      writeNpyFile(path.join(dir, 'x.npy'), npy('float32', [2, 3, 2], Float32Array.from({ length: 12 }, (_, i) => i))),
      writeNpyFile(path.join(dir, 'mask.npy'), npy('int64', [2, 4], new BigInt64Array(8).fill(1n))),
    ];
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'how these were made');
    const src = await openCalibrationFiles([...files, path.join(dir, 'notes.txt')].map((f) => picked(f, `calib/${path.basename(f)}`)), [X, MASK]);
    expect(src.count).toBe(2);
    expect(src.notes?.join()).toContain('calib/: skipped 1 file');
    expect(Array.from((await src.load(1)).x!.data as Float32Array)).toEqual([6, 7, 8, 9, 10, 11]);
    await expectError(() => openCalibrationFiles([picked(files[0]!)], [X, MASK]), 'BAD_CALIBRATION', 'x.npy', "'mask'");
    await expectError(() => openCalibrationFiles([], [X]), 'BAD_CALIBRATION', 'no calibration files');
  });
});

describe('a model picked in a page', () => {
  it('takes its weights from the data file picked with it, and names that file when it is missing', async () => {
    const dir = tempDir();
    const model = buildModel({
      inputs: [{ name: 'v', dims: [1, 8] }],
      outputs: [{ name: 'out', dims: [1, 4] }],
      nodes: [{ opType: 'MatMul', name: 'mm', inputs: ['v', 'w'], outputs: ['out'] }],
      initializers: [floatTensor('w', [8, 4], Float32Array.from({ length: 32 }, (_, i) => i / 32))],
    });
    const w = model.graph!.initializer[0]!;
    const data = Buffer.concat([Buffer.alloc(16), Buffer.from(w.rawData)]);
    fs.writeFileSync(path.join(dir, 'm.onnx.data'), data);
    Object.assign(w, {
      rawData: new Uint8Array(0),
      dataLocation: 1,
      externalData: [['location', 'm.onnx.data'], ['offset', '16'], ['length', '128']].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    });
    fs.writeFileSync(path.join(dir, 'm.onnx'), toBinary(ModelProtoSchema, model));

    const loaded = await loadModel(picked(path.join(dir, 'm.onnx')), [picked(path.join(dir, 'm.onnx.data'))]);
    const t = loaded.graph!.initializer[0]!;
    expect(t.dataLocation).toBe(0);
    expect(Array.from(readFloat32(t))).toEqual(Array.from({ length: 32 }, (_, i) => Math.fround(i / 32)));
    await expectError(() => loadModel(picked(path.join(dir, 'm.onnx'))), 'EXTERNAL_DATA', "pick 'm.onnx.data' together with the model");
    await expectError(() => loadModel(picked(path.join(dir, 'm.onnx')), [new File([data.subarray(0, 100)], 'm.onnx.data')]), 'EXTERNAL_DATA', 'm.onnx.data', "'w'", 'truncated');
  });
});
