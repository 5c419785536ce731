/**
 * AdaRound (--method adaround): the rectified sigmoid and the regulariser by hand; on a small CNN with
 * 4-bit per-channel weights, learned rounding beats round to nearest on held-out samples and the exported
 * integers are ⌊W/s⌋ or ⌊W/s⌋ + 1 at the plan's unchanged scales; blocks found and reconstructed on a
 * residual block; a scale changed after AdaRound is caught before export.
 */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/memory.js';
import { DT } from '../../src/onnx/dtype.js';
import { readFloat32, readTensor, setRawData } from '../../src/onnx/tensor.js';
import { Graph } from '../../src/ir/graph.js';
import { calibrate, quantize, quantizeCalibrated, type QuantizeResult } from '../../src/quantize.js';
import { resolvePlan } from '../../src/plan/resolve.js';
import { checkLearnedRounding } from '../../src/refine/adaround.js';
import { addRegularizerGradient, betaAt, initialV, rectifiedSigmoid, regularizer } from '../../src/refine/rounding.js';
import { blockUnits, layerUnits } from '../../src/refine/units.js';
import { buildModel, randomSamples, randomWeight, type ModelSpec } from '../helpers/build.js';
import { cnn } from './cnn.js';

describe('rounding variable and regulariser', () => {
  it('h(V) = clip(1.2·σ(V) − 0.1, 0, 1), and V starts where h equals the fractional part', () => {
    expect(rectifiedSigmoid(0)).toBeCloseTo(0.5, 12);
    expect(rectifiedSigmoid(20)).toBe(1); // 1.2·σ(20) − 0.1 ≈ 1.1, clipped
    expect(rectifiedSigmoid(-20)).toBe(0);
    // σ(ln 3) = 0.75 → 1.2·0.75 − 0.1 = 0.8
    expect(rectifiedSigmoid(Math.log(3))).toBeCloseTo(0.8, 12);
    for (const frac of [0, 0.25, 0.5, 0.9, 0.999]) expect(rectifiedSigmoid(initialV(frac))).toBeCloseTo(frac, 10);
  });

  it('the regulariser Σ 1 − |2h − 1|^β is 1 at h = ½, 0 at h ∈ {0, 1}, and its gradient matches finite differences', () => {
    const v = Float32Array.of(0, 20, -20, Math.log(3));
    // h = 0.5, 1, 0, 0.8; with β = 2: 1 + 0 + 0 + (1 − 0.6²) = 1.64
    expect(regularizer(v, 2)).toBeCloseTo(1.64, 6);
    // entries not free are left out
    expect(regularizer(v, 2, Uint8Array.of(1, 1, 1, 0))).toBeCloseTo(1, 6);
    const at = Float32Array.of(-1.3, -0.2, 0.4, 1.7);
    for (const beta of [2, 7.5, 20]) {
      const grad = new Float32Array(at.length);
      addRegularizerGradient(grad, at, beta, 0.01);
      for (let i = 0; i < at.length; i++) {
        const e = 1e-3;
        const plus = Float32Array.from(at);
        const minus = Float32Array.from(at);
        plus[i] += e;
        minus[i] -= e;
        const numeric = (0.01 * (regularizer(plus, beta) - regularizer(minus, beta))) / (2 * e);
        expect(grad[i]).toBeCloseTo(numeric, 4);
      }
    }
  });

  it('β is off for the first 20 % of the steps, then falls linearly from 20 to 2', () => {
    expect(betaAt(0, 100)).toBe(0);
    expect(betaAt(19, 100)).toBe(0);
    expect(betaAt(20, 100)).toBe(20);
    expect(betaAt(99, 100)).toBeCloseTo(2, 12);
    expect(betaAt(20 + 79 / 2, 100)).toBeCloseTo(11, 12);
  });
});

/** The integers of every int4 weight of an exported model, by the float weight they came from. */
function storedIntegers(model: ModelProto): Map<string, Int8Array> {
  const out = new Map<string, Int8Array>();
  for (const t of model.graph!.initializer) if (t.dataType === DT.INT4 && t.name.endsWith('_quantized')) out.set(t.name.slice(0, -'_quantized'.length), readTensor(t).data as Int8Array);
  return out;
}

describe('AdaRound on a small CNN with 4-bit per-channel weights', () => {
  const samples = randomSamples('x', [1, 3, 16, 16], 72, 3);
  const float = buildModel(cnn);
  let rtn: QuantizeResult;
  let layer: QuantizeResult;

  it('reconstructs every layer and beats round to nearest on held-out samples', async () => {
    const cal = await calibrate(float, memorySource(samples), { methods: ['minmax'], calibSamples: 64, planOptions: [{ method: 'minmax', weightBits: 4 }] });
    rtn = await quantizeCalibrated(cal, { method: 'minmax', weightBits: 4 });
    layer = await quantizeCalibrated(cal, { method: 'adaround', weightBits: 4, adaround: { iterations: 300 } });
    const report = layer.adaRound!;
    expect(report.units.map((u) => u.layers)).toEqual([['Conv_0'], ['Conv_2'], ['Gemm_6']]);
    expect(report.units.map((u) => u.nodes)).toEqual([2, 2, 1]); // a Conv with the Relu after it
    for (const u of report.units) expect(u.sqnrAfter).toBeGreaterThanOrEqual(u.sqnrBefore);
    // measured (300 steps): round to nearest 23.5 dB, AdaRound by layer 29.8 dB on the 8 held-out samples
    const [before, after] = [rtn.validation!.outputs[0]!.sqnr, layer.validation!.outputs[0]!.sqnr];
    expect(before).toBeGreaterThan(20);
    expect(after).toBeGreaterThan(before + 4);
    expect(layer.plan.weights.w2!.params!.state).toBe('trained');
  }, 120_000);

  it('exports integers on the grid of the unchanged scales: ⌊W/s⌋ or ⌊W/s⌋ + 1, some other than the nearest', () => {
    const floatWeights = new Map(float.graph!.initializer.map((t) => [t.name, readFloat32(t)]));
    const learned = storedIntegers(layer.model);
    const nearest = storedIntegers(rtn.model);
    expect([...learned.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
    let flipped = 0;
    for (const [name, q] of learned) {
      const e = layer.plan.weights[name]!;
      expect(e.params!.scale).toEqual(rtn.plan.weights[name]!.params!.scale);
      const w = floatWeights.get(name)!;
      const inner = w.length / e.params!.scale.length;
      for (let i = 0; i < w.length; i++) {
        const s = Math.fround(e.params!.scale[Math.floor(i / inner)]!);
        const floor = Math.floor(Math.fround(w[i]! / s));
        expect([floor, floor + 1]).toContain(q[i]);
        if (q[i] !== nearest.get(name)![i]) flipped++;
      }
    }
    expect(flipped).toBeGreaterThan(20);
  });
});

/** Conv → Relu, then a residual block (Conv → Relu → Conv → Add with its input → Relu), pooled into a Gemm. */
const residual: ModelSpec = {
  inputs: [{ name: 'x', dims: [1, 3, 12, 12] }],
  outputs: [{ name: 'y' }],
  initializers: [
    randomWeight('w0', [8, 3, 3, 3], 11),
    randomWeight('b0', [8], 12, 0.1),
    randomWeight('w1', [8, 8, 3, 3], 13, 0.3),
    randomWeight('b1', [8], 14, 0.1),
    randomWeight('w2', [8, 8, 3, 3], 15, 0.3),
    randomWeight('b2', [8], 16, 0.1),
    randomWeight('w3', [10, 8], 17),
    randomWeight('b3', [10], 18, 0.1),
  ],
  nodes: [
    { opType: 'Conv', name: 'stem', inputs: ['x', 'w0', 'b0'], outputs: ['c0'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c0'], outputs: ['r0'] },
    { opType: 'Conv', name: 'conv1', inputs: ['r0', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
    { opType: 'Conv', name: 'conv2', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Add', name: 'skip', inputs: ['c2', 'r0'], outputs: ['a'] },
    { opType: 'Relu', inputs: ['a'], outputs: ['r'] },
    { opType: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
    { opType: 'Flatten', inputs: ['g'], outputs: ['f'] },
    { opType: 'Gemm', name: 'fc', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
  ],
};

describe('AdaRound by blocks (BRECQ) on a residual block', () => {
  const samples = randomSamples('x', [1, 3, 12, 12], 72, 4);

  it('finds the residual block between single-tensor cuts and reconstructs it jointly, above round to nearest', async () => {
    const cal = await calibrate(buildModel(residual), memorySource(samples), { methods: ['minmax'], calibSamples: 64, planOptions: [{ method: 'minmax', weightBits: 4 }] });
    const plan = structuredClone([...cal.plans.values()][0]!.plan);
    resolvePlan(plan, cal.stats, (n) => cal.graph.constant(n));
    const { units, split } = blockUnits(cal.graph, plan);
    expect(split).toEqual([]);
    expect(units.map((u) => ({ input: u.input, output: u.output, weights: u.weights }))).toEqual([
      { input: 'x', output: 'r0', weights: ['w0'] },
      { input: 'r0', output: 'f', weights: ['w1', 'w2'] },
      { input: 'f', output: 'y', weights: ['w3'] },
    ]);
    expect(units[1]!.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv', 'Add', 'Relu', 'GlobalAveragePool', 'Flatten']);
    expect(layerUnits(cal.graph, plan).map((u) => u.weights[0])).toEqual(['w0', 'w1', 'w2', 'w3']);

    const rtn = await quantizeCalibrated(cal, { method: 'minmax', weightBits: 4 });
    const block = await quantizeCalibrated(cal, { method: 'adaround', weightBits: 4, adaround: { reconstruct: 'block', iterations: 300 } });
    expect(block.adaRound!.units.map((u) => u.layers)).toEqual([['stem'], ['conv1', 'conv2'], ['fc']]);
    // measured (300 steps): round to nearest 20.6 dB, AdaRound by block 29.0 dB (by layer 28.9) on the held-out samples
    expect(block.validation!.outputs[0]!.sqnr).toBeGreaterThan(rtn.validation!.outputs[0]!.sqnr + 5);
    for (const w of ['w1', 'w2']) expect(block.plan.weights[w]!.params!.state).toBe('trained');
  }, 120_000);
});

describe('AdaRound options', () => {
  it('are refused without the method, and out of range', async () => {
    const source = memorySource(randomSamples('x', [1, 3, 16, 16], 12, 6));
    await expect(quantize(buildModel(cnn), source, { weightBits: 4, adaround: { iterations: 10 } })).rejects.toThrow(/AdaRound's options \(reconstruction, iterations, samples\) apply to method adaround; the method here is minmax/);
    await expect(quantize(buildModel(cnn), source, { weightBits: 4, method: 'adaround', adaround: { iterations: 0 } })).rejects.toThrow(/AdaRound's iterations must be a positive integer; got 0/);
  });
});

describe('the learned integers are checked before export', () => {
  it('a weight scale changed after AdaRound (as an int32 bias fit would) is refused, naming the weight', async () => {
    const samples = randomSamples('x', [1, 3, 16, 16], 24, 5);
    const cal = await calibrate(buildModel(cnn), memorySource(samples), { methods: ['minmax'], calibSamples: 16, planOptions: [{ method: 'minmax', weightBits: 4 }] });
    const r = await quantizeCalibrated(cal, { method: 'adaround', weightBits: 4, adaround: { iterations: 20 } });
    // The prepared graph with each weight as its exported grid values, as AdaRound leaves it.
    const model = clone(ModelProtoSchema, cal.model);
    const graph = new Graph(model.graph!);
    for (const [name, q] of storedIntegers(r.model)) {
      const scale = r.plan.weights[name]!.params!.scale;
      const inner = q.length / scale.length;
      const values = Float32Array.from(q, (v, i) => Math.fround(Math.fround(scale[Math.floor(i / inner)]!) * v));
      setRawData(graph.initializer(name)!, DT.FLOAT, new Uint8Array(values.buffer));
    }
    const plan = structuredClone(r.plan);
    expect(() => checkLearnedRounding(graph, plan)).not.toThrow();
    plan.weights.w2!.params!.scale[3] *= 1.37;
    expect(() => checkLearnedRounding(graph, plan)).toThrow(/learned rounding of weight 'w2' no longer holds: its scale \(channel 3\) was enlarged/);
  }, 60_000);
});
