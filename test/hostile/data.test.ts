/**
 * Bad data: calibration or validation samples holding NaN or ±Infinity are refused, naming the input
 * and the sample, in every mode and with every method; outputs that are not finite are reported as not
 * compared rather than as numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelFile } from '../../src/node/files.js';
import { writeNpy } from '../../src/data/npy-file.js';
import { buildModel, randomFloats, randomWeight } from '../helpers/build.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

/** x·w then `last` (Relu, or Log, which makes NaN of negative values), saved as `file`. */
function saveMatmul(file: string, last: 'Relu' | 'Log'): string {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1, 64] }],
    outputs: [{ name: 'y' }],
    initializers: [randomWeight('w', [64, 64], 4)],
    nodes: [
      { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
      { opType: last, inputs: ['h'], outputs: ['y'] },
    ],
  });
  saveModelFile(model, file);
  return file;
}

describe('non-finite data', () => {
  let dir: string;
  let model: string;
  const calib = (name: string, poison: (data: Float32Array) => void) => {
    const data = randomFloats(8 * 64, 3);
    poison(data);
    const file = path.join(dir, name);
    writeNpy(file, { dtype: 'float32', dims: [8, 1, 64], data });
    return file;
  };
  beforeAll(() => {
    dir = tempDir('onnxq-hostile-data-');
    model = saveMatmul(path.join(dir, 'mlp.onnx'), 'Relu');
  });

  it('one NaN among the calibration values is refused, naming the input and the sample, with every method', () => {
    const oneNaN = calib('one-nan.npy', (d) => (d[3 * 64 + 5] = NaN));
    for (const method of ['minmax', 'entropy', 'percentile', 'mse']) {
      const out = path.join(dir, `out-${method}.onnx`);
      const r = onnxq(['quantize', model, '-o', out, '--calib', oneNaN, '--method', method]);
      expectCleanFailure(r, /one-nan\.npy.*, sample 3: input 'x' holds 1 value that is not finite \(the first, at element 5, is NaN\)/);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('all-NaN data, and Infinity (entropy too), are refused in the same words', () => {
    const allNaN = calib('all-nan.npy', (d) => d.fill(NaN));
    expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'o.onnx'), '--calib', allNaN]), /sample 0: input 'x' holds 64 values that are not finite/);
    const inf = calib('inf.npy', (d) => (d[7 * 64] = -Infinity));
    expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'o.onnx'), '--calib', inf, '--method', 'entropy']), /sample 7: input 'x' holds 1 value that is not finite \(the first, at element 0, is -Infinity\)/);
  });

  it('validation data of the modes without calibration is checked the same way', () => {
    const oneNaN = calib('val-nan.npy', (d) => (d[64] = NaN));
    for (const mode of ['dynamic', 'weight-only', 'fp16'])
      expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'o.onnx'), '--mode', mode, '--calib', oneNaN]), /val-nan\.npy.*, sample 1: input 'x' holds 1 value that is not finite/);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('o.onnx') || f.startsWith('.o.onnx'))).toEqual([]);
  });

  it('an output that is not finite is reported as not compared, not as a number', () => {
    const logModel = saveMatmul(path.join(dir, 'log.onnx'), 'Log');
    const r = onnxq(['quantize', logModel, '-o', path.join(dir, 'log.int8.onnx'), '--mode', 'dynamic']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/y: not compared: \d+ values of the float model's output and \d+ of the quantized model's are NaN or ±Infinity/);
    expect(r.stdout).not.toMatch(/SQNR (NaN|-∞)|cosine NaN/);
  });

  it('a float model that overflows inside says which tensor, and why, with minmax and entropy', () => {
    const file = path.join(dir, 'overflow.onnx');
    saveModelFile(
      buildModel({
        inputs: [{ name: 'x', dims: [1, 64] }],
        outputs: [{ name: 'y' }],
        initializers: [randomWeight('w', [64, 64], 4), floatTensor('huge', [1], [3e38]), randomWeight('w2', [64, 8], 5)],
        nodes: [
          { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
          { opType: 'Mul', inputs: ['h', 'huge'], outputs: ['big'] }, // past float32's 3.4e38 wherever |h| > 1.13
          { opType: 'MatMul', inputs: ['big', 'w2'], outputs: ['y'] },
        ],
      }),
      file,
    );
    const data = calib('finite.npy', () => {});
    for (const method of ['minmax', 'entropy'])
      expectCleanFailure(onnxq(['quantize', file, '-o', path.join(dir, 'o.onnx'), '--calib', data, '--method', method]), /tensor 'big' reached -Infinity…Infinity on the calibration data.*infinite values cannot be quantized/);
  });
});
