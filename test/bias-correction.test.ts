/**
 * Empirical bias correction (refine/bias-correction.ts) on a block built here with coarse weights
 * (3 bits, one scale per tensor) fed positive inputs, where rounding shifts every channel's mean: the
 * corrected model is closer to float, a layer without a bias gets one (planned as int32), and the
 * shift it measures is the mean of (W − W̃)·x computed here by hand for a 1×1 layer.
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from '../src/data/memory.js';
import { DT } from '../src/onnx/dtype.js';
import { readFloat32, readTensor } from '../src/onnx/tensor.js';
import { weightParams } from '../src/plan/plan.js';
import { makeValueInfo } from '../src/ir/types.js';
import { fakeQuantize } from '../src/quant/quantize.js';
import { quantize, type QuantizeOptions } from '../src/quantize.js';
import { buildModel, randomFloats, randomSamples, randomWeight, runModel } from './helpers/build.js';
import { floatTensor } from '../src/onnx/tensor.js';

function block() {
  return buildModel({
    inputs: [{ name: 'x', dims: [1, 8, 10, 10] }],
    outputs: [{ name: 'y', dims: [1, 10] }],
    nodes: [
      { opType: 'Conv', name: 'dw', inputs: ['x', 'w1'], outputs: ['c1'], attrs: { group: 8, pads: [1, 1, 1, 1] } },
      { opType: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
      { opType: 'Conv', name: 'pw', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'] },
      { opType: 'GlobalAveragePool', name: 'gap', inputs: ['c2'], outputs: ['g'] },
      { opType: 'Flatten', name: 'flat', inputs: ['g'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    initializers: [
      floatTensor('w1', [8, 1, 3, 3], randomFloats(72, 51, -0.2, 0.6)),
      randomWeight('w2', [16, 8, 1, 1], 52),
      randomWeight('b2', [16], 53, 0.05),
      randomWeight('w3', [10, 16], 54),
      randomWeight('b3', [10], 55, 0.05),
    ],
  });
}

const data = memorySource(randomSamples('x', [1, 8, 10, 10], 40, 12, 0, 1));
const coarse: QuantizeOptions = { calibSamples: 36, weightBits: 3, perChannel: false };

describe('bias correction', () => {
  it('brings the coarse model closer to float, and gives a bias to the layer that had none', async () => {
    const plain = await quantize(block(), data, coarse);
    const corrected = await quantize(block(), data, { ...coarse, biasCorrection: true });
    expect(corrected.biasCorrection!.layers).toBe(3);
    expect(corrected.biasCorrection!.samples).toBe(32);
    // measured: 10.8 dB → 32.7 dB
    expect(corrected.validation!.outputs[0]!.sqnr).toBeGreaterThan(plain.validation!.outputs[0]!.sqnr + 15);
    const dwBias = Object.entries(corrected.plan.biases).find(([, b]) => b.node === 'dw');
    expect(dwBias).toBeDefined();
    // In the model: the depthwise Conv reads a third input, an int32 constant behind a DequantizeLinear.
    const g = corrected.model.graph!;
    const dw = g.node.find((n) => n.opType === 'Conv' && g.initializer.some((t) => t.name === g.node.find((d) => d.output[0] === n.input[1])?.input[0] && t.dims.map(Number).join() === '8,1,3,3'))!;
    const dq = g.node.find((n) => n.output[0] === dw.input[2])!;
    expect(dq.opType).toBe('DequantizeLinear');
    expect(g.initializer.find((t) => t.name === dq.input[0])!.dataType).toBe(DT.INT32);
  });

  it('adds to a layer’s bias the mean of (W − W̃)·x over the samples', async () => {
    // validate: false with 40 samples: every sample calibrates, and the correction runs on the first 32.
    const r = await quantize(block(), data, { ...coarse, calibSamples: 40, validate: false, biasCorrection: true });
    const g = r.model.graph!;
    const init = (name: string) => g.initializer.find((t) => t.name === name)!;
    // The fc layer reads the pooled feature f: its float values, from the float model with f as an output.
    const probe = block();
    probe.graph!.output.push(makeValueInfo('f', { dtype: DT.FLOAT, shape: [1, 16] }));
    const w = readFloat32(block().graph!.initializer.find((t) => t.name === 'w3')!);
    const entry = r.plan.weights.w3!;
    const wq = fakeQuantize(w, [10, 16], weightParams(entry));
    const shift = new Float64Array(10);
    for (let i = 0; i < 32; i++) {
      const f = (await runModel(probe, await data.load(i))).f!;
      for (let c = 0; c < 10; c++) for (let k = 0; k < 16; k++) shift[c] += ((w[c * 16 + k]! - wq[c * 16 + k]!) * f[k]!) / 32;
    }
    const b3 = readFloat32(block().graph!.initializer.find((t) => t.name === 'b3')!);
    // The bias as the model stores it: int32 · s_input·s_weight.
    const fc = g.node.find((n) => n.opType === 'Gemm')!;
    const dq = g.node.find((n) => n.output[0] === fc.input[2])!;
    const q = readTensor(init(dq.input[0]!)).data as Int32Array;
    const s = readFloat32(init(dq.input[1]!))[0]!;
    for (let c = 0; c < 10; c++) expect(Math.abs(q[c]! * s - (b3[c]! + shift[c]!))).toBeLessThanOrEqual(s);
    expect(Math.max(...Array.from(shift, Math.abs))).toBeGreaterThan(10 * s); // the correction is not lost in the rounding
  });
});
