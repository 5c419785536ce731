/**
 * `--method all` (refine/compare-methods.ts) on the small CNN: one model per method from one
 * calibration, each measured on the held-out samples, the best written; and the CLI's table.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/memory.js';
import { quantize } from '../../src/quantize.js';
import { COMPARED_METHODS } from '../../src/refine/methods.js';
import { buildModel, randomSamples, writeCliInputs } from '../helpers/build.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { cnn } from './cnn.js';

const samples = randomSamples('x', [1, 3, 16, 16], 30, 4);

describe('--method all', () => {
  it('makes a model per method from one calibration and keeps the best on the held-out samples', async () => {
    const r = await quantize(buildModel(cnn), memorySource(samples), { calibSamples: 27, compareMethods: true, eqSteps: 20 });
    const rows = r.methods!;
    expect(rows.map((m) => m.method)).toEqual([...COMPARED_METHODS]);
    expect(rows.filter((m) => m.chosen)).toHaveLength(1);
    const chosen = rows.find((m) => m.chosen)!;
    // Ranked by top-1 agreement where there are class outputs, then SQNR.
    for (const m of rows) expect(m.top1! < chosen.top1! || (m.top1 === chosen.top1 && m.sqnr <= chosen.sqnr)).toBe(true);
    expect(r.validation!.outputs[0]!.sqnr).toBe(chosen.sqnr);
    for (const m of rows) expect(m.sqnr).toBeGreaterThan(20);
  }, 120_000);

  it('prints every method side by side and refuses what it cannot combine with', () => {
    const dir = tempDir('onnxq-all-');
    const { model, calib } = writeCliInputs(dir, buildModel(cnn), samples);
    const r = onnxq(['quantize', model, '-o', path.join(dir, 'best.onnx'), '--calib', calib, '--method', 'all', '--eq-steps', '10']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/methods compared on the held-out samples/);
    for (const m of COMPARED_METHODS) expect(r.stdout).toMatch(new RegExp(`\\s${m}\\s+SQNR`));
    expect(r.stdout).toMatch(/wrote the \S+ model \(highest output SQNR\)/); // 'y' has no declared shape: not taken for class scores
    expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'x.onnx'), '--calib', calib, '--method', 'all', '--min-sqnr', '30']), /--method all chooses the ranges itself; it does not combine with a mixed-precision budget/);
  }, 120_000);
});
