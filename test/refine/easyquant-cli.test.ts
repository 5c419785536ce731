/** `onnxq quantize --method eq` from the command line: the summary says what was searched; eq's flags need eq. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModelFile } from '../../src/node/files.js';
import { writeNpy } from '../../src/data/npy-file.js';
import { buildModel, randomFloats } from '../helpers/build.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { cnn } from './cnn.js';

describe('onnxq quantize --method eq', () => {
  const dir = tempDir('onnxq-eq-cli-');
  const model = path.join(dir, 'cnn.onnx');
  const calib = path.join(dir, 'calib.npy');
  saveModelFile(buildModel(cnn), model);
  writeNpy(calib, { dtype: 'float32', dims: [24, 1, 3, 16, 16], data: randomFloats(24 * 3 * 16 * 16, 5) });

  it('searches every layer and reports it in text and JSON', () => {
    const out = path.join(dir, 'cnn.eq.onnx');
    const text = onnxq(['quantize', model, '-o', out, '--calib', calib, '--method', 'eq', '--eq-steps', '20', '--eq-samples', '16']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/EasyQuant searched 3 layers \(20 steps, 16 samples\) in .+ per layer/);
    const json = onnxq(['quantize', model, '-o', out, '--calib', calib, '--method', 'eq', '--eq-steps', '20', '--json']);
    const summary = JSON.parse(json.stdout);
    expect(summary.easyQuant).toMatchObject({ layers: 3, steps: 20, skipped: [] });
    expect(summary.easyQuant.msPerLayer).toBeGreaterThan(0);
    expect(summary.validation.outputs[0].sqnr).toBeGreaterThan(30);
  });

  it('refuses --eq-steps without --method eq', () => {
    expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'x.onnx'), '--calib', calib, '--eq-steps', '10']), /--eq-steps applies to --method eq; the method here is minmax/);
  });
});
