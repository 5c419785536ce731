/** `onnxq quantize --method adaround` from the command line: the summary says what was reconstructed; its flags need the method. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModelFile } from '../../src/node/files.js';
import { writeNpy } from '../../src/data/npy-file.js';
import { buildModel, randomFloats } from '../helpers/build.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { cnn } from './cnn.js';

describe('onnxq quantize --method adaround', () => {
  const dir = tempDir('onnxq-adaround-cli-');
  const model = path.join(dir, 'cnn.onnx');
  const calib = path.join(dir, 'calib.npy');
  saveModelFile(buildModel(cnn), model);
  writeNpy(calib, { dtype: 'float32', dims: [40, 1, 3, 16, 16], data: randomFloats(40 * 3 * 16 * 16, 5) });
  const out = path.join(dir, 'cnn.w4.onnx');

  it('reconstructs by layer and by block, and reports it in text and JSON', () => {
    const text = onnxq(['quantize', model, '-o', out, '--calib', calib, '--weight-bits', '4', '--method', 'adaround', '--adaround-iters', '60', '--adaround-samples', '32']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/AdaRound reconstructed 3 layers \(60 steps of 32, 32 samples\) in .+ per layer/);
    expect(text.stdout).toMatch(/layer output SQNR on the calibration samples, mean: round to nearest [\d.]+ dB → learned [\d.]+ dB; [\d.]+ % of the weights rounded the other way/);
    const json = onnxq(['quantize', model, '-o', out, '--calib', calib, '--weight-bits', '4', '--method', 'adaround', '--reconstruct', 'block', '--adaround-iters', '30', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary.adaRound).toMatchObject({ reconstruct: 'block', iterations: 30, split: [] });
    expect(summary.adaRound.units.map((u: { layers: string[] }) => u.layers)).toEqual([['Conv_0'], ['Conv_2'], ['Gemm_6']]);
  });

  it('refuses its flags without --method adaround', () => {
    expectCleanFailure(
      onnxq(['quantize', model, '-o', out, '--calib', calib, '--reconstruct', 'block']),
      /--reconstruct applies to --method adaround \(learned weight rounding\); the method here is minmax\. Add --method adaround or drop it\./,
    );
    expectCleanFailure(onnxq(['quantize', model, '-o', out, '--calib', calib, '--method', 'eq', '--adaround-iters', '10', '--adaround-samples', '8']), /--adaround-iters, --adaround-samples apply to --method adaround/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out, '--method', 'adaround', '--reconstruct', 'tiles']), /--reconstruct.+tiles.+(layer|choices)/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out, '--calib', calib, '--method', 'adaround', '--adaround-iters', '0']), /--adaround-iters takes an integer ≥ 1, not '0'/);
  });
});
