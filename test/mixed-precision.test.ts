/**
 * Mixed precision (refine/mixed-precision.ts) on a small CNN built here: a budget above the full-int8
 * SQNR is met by taking tensors out of int8 (and the model written meets it on the held-out samples);
 * a budget already met takes nothing out; one no model can meet writes the best found and says so; a
 * user's metric drives the same search; the CLI prints what each step bought.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { memorySource } from '../src/data/memory.js';
import { quantize } from '../src/quantize.js';
import { buildModel, randomSamples, randomWeight, writeCliInputs } from './helpers/build.js';
import { expectCleanFailure, onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const X = [1, 4, 8, 8];

/** Four 3×3 convolutions with Relu, the second one fed a few large values so that its range is wide. */
function cnn(): ModelProto {
  const convs = [0, 1, 2, 3].map((i) => ({ opType: 'Conv', name: `conv${i}`, inputs: [i ? `r${i - 1}` : 'x', `w${i}`, `b${i}`], outputs: [`c${i}`], attrs: { pads: [1, 1, 1, 1] } }));
  const relus = [0, 1, 2, 3].map((i) => ({ opType: 'Relu', name: `relu${i}`, inputs: [`c${i}`], outputs: [`r${i}`] }));
  return buildModel({
    inputs: [{ name: 'x', dims: X }],
    outputs: [{ name: 'y', dims: [1, 8, 8, 8] }],
    nodes: [...convs.flatMap((c, i) => [c, relus[i]!]), { opType: 'Identity', name: 'out', inputs: ['r3'], outputs: ['y'] }],
    initializers: [0, 1, 2, 3].flatMap((i) => [randomWeight(`w${i}`, [8, i ? 8 : 4, 3, 3], 10 + i, 0.4), randomWeight(`b${i}`, [8], 20 + i, 0.1)]),
  });
}

/** Samples with rare large values, so that a minmax range wastes most int8 levels. */
function samples(count: number) {
  return randomSamples('x', X, count, 5).map((s, k) => {
    const d = s.x!.data as Float32Array;
    d[k % d.length] = 40;
    return s;
  });
}

describe('mixed precision', () => {
  const data = memorySource(samples(40));
  const options = { calibSamples: 36 };

  it('takes tensors out of int8 until the budget holds, and says what each step bought', async () => {
    const full = await quantize(cnn(), data, options);
    const start = full.validation!.outputs[0]!.sqnr;
    const r = await quantize(cnn(), data, { ...options, budget: { minSqnr: start + 6 } });
    const mp = r.mixedPrecision!;
    expect(mp.start).toBeCloseTo(start, 6);
    expect(mp.met).toBe(true);
    expect(mp.steps.length).toBeGreaterThan(0);
    expect(mp.end).toBeGreaterThanOrEqual(start + 6);
    expect(r.validation!.outputs[0]!.sqnr).toBeCloseTo(mp.end, 6);
    const floated = [...Object.values(r.plan.activations), ...Object.values(r.plan.weights)].filter((e) => e.params?.state === 'float');
    expect(floated.length).toBe(mp.steps.reduce((n, s) => n + s.nodes.length, 0));
    // Fewer quantized tensors in the model written than at full int8.
    const pairs = (m: ModelProto) => m.graph!.node.filter((n) => n.opType === 'QuantizeLinear').length;
    expect(pairs(r.model)).toBeLessThan(pairs(full.model));
  }, 120_000);

  it('takes nothing out when full int8 already meets the budget', async () => {
    const r = await quantize(cnn(), data, { ...options, budget: { minSqnr: 1 } });
    expect(r.mixedPrecision!.met).toBe(true);
    expect(r.mixedPrecision!.steps).toEqual([]);
  }, 60_000);

  it('writes the best model it found when no model can meet the budget, and says so', async () => {
    const r = await quantize(cnn(), data, { ...options, budget: { metric: async () => 0, min: 1, name: 'accuracy' } });
    expect(r.mixedPrecision!.met).toBe(false);
    expect(r.mixedPrecision!.budget).toBe('accuracy ≥ 1');
    expect(r.model.graph!.node.length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses, before calibrating, what a budget cannot work with', async () => {
    const full = await quantize(cnn(), data, options);
    await expect(quantize(cnn(), data, { ...options, budget: { minSqnr: 30 }, validate: false })).rejects.toThrow(/measured on held-out samples; drop --no-validate/);
    await expect(quantize(cnn(), data, { ...options, budget: { minSqnr: 30 }, plan: full.plan })).rejects.toThrow(/cannot start from a plan/);
    await expect(quantize(cnn(), data, { ...options, budget: { maxSqnrDrop: 3 }, target: 'tensorrt' })).rejects.toThrow(/--max-sqnr-drop is measured against 16-bit activations/);
  }, 60_000);

  it('prints the budget, the steps and the latency in the CLI', () => {
    const dir = tempDir('onnxq-mp-');
    const { model, calib } = writeCliInputs(dir, cnn(), samples(40));
    const out = path.join(dir, 'cnn.mp.onnx');
    const html = path.join(dir, 'report.html');
    const r = onnxq(['quantize', model, '-o', out, '--calib', calib, '--min-sqnr', '200', '--report', html]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mixed precision: budget output SQNR ≥ 200 dB; full int8 \d+\.\d dB/);
    expect(r.stdout).toMatch(/the budget cannot be met: even with \d+ tensors in float the best reached/);
    expect(fs.existsSync(out)).toBe(true);
    // `quantize --report`: the analysis of the model written, with the search's steps.
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toMatch(/<section id="mixed"|Mixed precision/);
    expect(page).toMatch(/Layer-wise sensitivity/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out + '2', '--calib', calib, '--min-sqnr', '20', '--min-top1', '0.9']), /--min-sqnr and --min-top1 are budgets of their own; give one/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out + '2', '--calib', calib, '--min-top1', '0.9']), /no output of the model looks like class scores/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out + '2', '--mode', 'dynamic', '--min-sqnr', '20']), /--min-sqnr applies to --mode static/);
  }, 180_000);
});
