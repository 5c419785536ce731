/**
 * The layer-wise ranking on a depthwise network built here (1×1 → depthwise 3×3 → 1×1, the MobileNet
 * block), with one channel of the first activation fifty times larger than the rest, so that its
 * per-tensor range leaves the other channels a few levels: the ranking puts that tensor first, and
 * keeping it float recovers more output SQNR than keeping any other tensor float.
 */
import { describe, expect, it } from 'vitest';
import { analyzeModels } from '../../src/analyze/analyze.js';
import { memorySource } from '../../src/data/memory.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import type { QuantPlan } from '../../src/plan/plan.js';
import { quantize } from '../../src/quantize.js';
import { buildModel, randomFloats, randomSamples, randomWeight } from '../helpers/build.js';

function depthwise() {
  const w0 = randomFloats(16 * 8, 31, -0.5, 0.5);
  for (let i = 0; i < 8; i++) w0[i] *= 50; // output channel 0
  return buildModel({
    inputs: [{ name: 'x', dims: [1, 8, 16, 16] }],
    outputs: [{ name: 'y', dims: [1, 10] }],
    nodes: [
      { opType: 'Conv', name: 'expand', inputs: ['x', 'w0', 'b0'], outputs: ['c0'] },
      { opType: 'Relu', name: 'relu0', inputs: ['c0'], outputs: ['r0'] },
      { opType: 'Conv', name: 'dw', inputs: ['r0', 'w1', 'b1'], outputs: ['c1'], attrs: { group: 16, pads: [1, 1, 1, 1] } },
      { opType: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
      { opType: 'Conv', name: 'project', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'] },
      { opType: 'GlobalAveragePool', name: 'gap', inputs: ['c2'], outputs: ['g'] },
      { opType: 'Flatten', name: 'flat', inputs: ['g'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    initializers: [
      floatTensor('w0', [16, 8, 1, 1], w0),
      randomWeight('b0', [16], 32, 0.1),
      randomWeight('w1', [16, 1, 3, 3], 33),
      randomWeight('b1', [16], 34, 0.1),
      randomWeight('w2', [8, 16, 1, 1], 35),
      randomWeight('b2', [8], 36, 0.1),
      randomWeight('w3', [10, 8], 37),
      randomWeight('b3', [10], 38, 0.1),
    ],
  });
}

describe('layer-wise ranking on a depthwise block', () => {
  it('ranks first the tensor whose float fallback recovers the most', async () => {
    const data = memorySource(randomSamples('x', [1, 8, 16, 16], 30, 8));
    const full = await quantize(depthwise(), data, { calibSamples: 27 });
    const report = await analyzeModels(depthwise(), full.model, data, { samples: 16, layerSamples: 8, histograms: false });
    expect(report.layers[0]!.tensor).toBe('r0');
    expect(report.layers[0]!.kind).toBe('activation');

    // Keep each ranked tensor float in turn: the first of the ranking buys the most.
    const gains = new Map<string, number>();
    for (const l of report.layers) {
      const plan: QuantPlan = structuredClone(full.plan);
      const entry = l.kind === 'weight' ? plan.weights[l.tensor] : plan.activations[l.tensor] ?? plan.activations[plan.folded.find((f) => f.input === l.tensor)?.output ?? ''];
      if (!entry?.params) continue;
      entry.params.state = 'float';
      const r = await quantize(depthwise(), data, { calibSamples: 27, plan });
      gains.set(l.tensor, r.validation!.outputs[0]!.sqnr - full.validation!.outputs[0]!.sqnr);
    }
    const best = [...gains].sort((a, b) => b[1] - a[1])[0]!;
    expect(best[0]).toBe('r0');
    expect(best[1]).toBeGreaterThan(3);
  }, 120_000);
});
