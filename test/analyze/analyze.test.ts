/**
 * analyzeModels() on a small CNN built here, quantized by onnxq: the graph-wise error of the input
 * tensor is exactly the error of fake-quantizing it; one tensor switched on in the layer-wise model
 * gives exactly what the float model gives on that tensor fake-quantized; a copy of the quantized model
 * renamed as other tools name tensors is matched by position with the same numbers; models that do
 * not correspond are refused with the tensor that does not match.
 */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { makeNode } from '../../src/ir/node.js';
import { DT } from '../../src/onnx/dtype.js';
import { makeTensor, readFloat32 } from '../../src/onnx/tensor.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeModels } from '../../src/analyze/analyze.js';
import { ErrorAccumulator } from '../../src/analyze/metrics.js';
import { memorySource } from '../../src/data/memory.js';
import type { Sample } from '../../src/data/source.js';
import { quantize } from '../../src/quantize.js';
import { fakeQuantize } from '../../src/quant/quantize.js';
import type { AnalysisReport } from '../../src/analyze/report.js';
import { buildModel, randomSamples, randomWeight, runModel } from '../helpers/build.js';

const X = [1, 3, 8, 8];

function cnn(firstOp: 'Conv' | 'MaxPool' = 'Conv'): ModelProto {
  const first =
    firstOp === 'Conv'
      ? { opType: 'Conv', name: 'conv1', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } }
      : { opType: 'MaxPool', name: 'pool1', inputs: ['x'], outputs: ['c1'], attrs: { kernel_shape: [1, 1] } };
  return buildModel({
    inputs: [{ name: 'x', dims: X }],
    outputs: [{ name: 'y', dims: [1, 10] }],
    nodes: [
      first,
      { opType: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
      { opType: 'Conv', name: 'conv2', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Relu', name: 'relu2', inputs: ['c2'], outputs: ['r2'] },
      { opType: 'GlobalAveragePool', name: 'gap', inputs: ['r2'], outputs: ['g'] },
      { opType: 'Flatten', name: 'flat', inputs: ['g'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    initializers: [
      randomWeight('w1', [firstOp === 'Conv' ? 8 : 3, 3, 3, 3], 1),
      randomWeight('b1', [firstOp === 'Conv' ? 8 : 3], 2, 0.1),
      randomWeight('w2', [8, firstOp === 'Conv' ? 8 : 3, 3, 3], 3),
      randomWeight('b2', [8], 4, 0.1),
      randomWeight('w3', [10, 8], 5),
      randomWeight('b3', [10], 6, 0.1),
    ],
  });
}

const samples: Sample[] = randomSamples('x', X, 12, 3);
let float: ModelProto;
let quantized: ModelProto;
let report: AnalysisReport;

beforeAll(async () => {
  float = cnn();
  quantized = (await quantize(float, memorySource(samples), { calibSamples: 12, validate: false })).model;
  report = await analyzeModels(float, quantized, memorySource(samples), { samples: 12, layerSamples: 4 });
}, 60_000);

/** The float model with its input and every weight behind QuantizeLinear → DequantizeLinear (int8 weights, uint8 input). */
function fakeQuantExport(model: ModelProto): ModelProto {
  const m = clone(ModelProtoSchema, model);
  const g = m.graph!;
  const nodes: NodeProto[] = [];
  const scalar = (name: string, dtype: number, v: number) => makeTensor(name, dtype, [], dtype === DT.FLOAT ? Float32Array.of(v) : dtype === DT.INT8 ? Int8Array.of(v) : Uint8Array.of(v));
  const pair = (t: string, scale: number, signed: boolean) => {
    g.initializer.push(scalar(`${t}_s`, DT.FLOAT, scale), scalar(`${t}_z`, signed ? DT.INT8 : DT.UINT8, signed ? 0 : 128));
    nodes.push(makeNode({ opType: 'QuantizeLinear', name: `${t}_q`, inputs: [t, `${t}_s`, `${t}_z`], outputs: [`${t}_qo`] }));
    nodes.push(makeNode({ opType: 'DequantizeLinear', name: `${t}_dq`, inputs: [`${t}_qo`, `${t}_s`, `${t}_z`], outputs: [`${t}_dqo`] }));
    return `${t}_dqo`;
  };
  const x = pair('x', 2 / 255, false);
  for (const n of g.node) {
    if (n.input[0] === 'x') n.input[0] = x;
    if (n.opType === 'Conv' || n.opType === 'Gemm') {
      const w = g.initializer.find((t) => t.name === n.input[1])!;
      n.input[1] = pair(w.name, Math.max(...Array.from(readFloat32(w), Math.abs)) / 127, true);
    }
  }
  g.node = [...nodes, ...g.node];
  return m;
}

/** Scale and zero point of the pair that quantizes `tensor` in the quantized model. */
function pairOf(model: ModelProto, tensor: string) {
  const q = model.graph!.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === tensor)!;
  const init = (name: string) => model.graph!.initializer.find((t) => t.name === name)!;
  const scale = new Float32Array(init(q.input[1]!).rawData.slice().buffer)[0]!;
  const zp = init(q.input[2]!).rawData[0]!;
  return { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp), spec: { dtype: 'uint8' as const, symmetric: false } };
}

describe('analyzeModels on a small CNN', () => {
  it('compares every quantized activation, and the input exactly as fake quantization of it', () => {
    expect(report.unmatched).toEqual([]);
    expect(report.samples).toBe(12);
    expect(report.tensors.map((t) => t.name).join(' ')).toBe('x r1 r2 f');
    const x = report.tensors.find((t) => t.name === 'x')!;
    const acc = new ErrorAccumulator();
    const p = pairOf(quantized, 'x');
    for (const s of samples) acc.add(s.x!.data as Float32Array, fakeQuantize(s.x!.data as Float32Array, X, p));
    expect(x.sqnr).toBeCloseTo(acc.sqnr, 6);
    expect(x.sqnr).toBeGreaterThan(40);
    // Error grows along the graph, and the last tensors are worse than the input.
    for (const t of report.tensors) expect(Number.isFinite(t.sqnr)).toBe(true);
    expect(Math.min(...report.tensors.map((t) => t.sqnr))).toBeLessThan(x.sqnr);
  });

  it('ranks each quantized activation and weight alone, as the float model on that tensor fake-quantized', async () => {
    const kinds = report.layers.map((l) => `${l.kind}:${l.tensor}`).sort();
    expect(kinds).toEqual(['activation:f', 'activation:r1', 'activation:r2', 'activation:x', 'weight:w1', 'weight:w2', 'weight:w3']);
    for (let i = 1; i < report.layers.length; i++) expect(report.layers[i]!.sqnr).toBeGreaterThanOrEqual(report.layers[i - 1]!.sqnr);
    // Only x quantized: the float model fed x fake-quantized.
    const layer = report.layers.find((l) => l.tensor === 'x')!;
    const p = pairOf(quantized, 'x');
    const acc = new ErrorAccumulator();
    for (const s of samples.slice(0, 4)) {
      const ref = await runModel(float, s);
      const got = await runModel(float, { x: { ...s.x!, data: fakeQuantize(s.x!.data as Float32Array, X, p) } });
      acc.add(ref.y!, got.y!);
    }
    expect(layer.sqnr).toBeCloseTo(acc.sqnr, 2); // the two runs differ only in float rounding
  });

  it('draws each activation histogram with every method range, and each weight per channel', () => {
    expect(report.histograms.length).toBe(report.tensors.length);
    const h = report.histograms.find((t) => t.name === 'x')!;
    expect(h.counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(Object.keys(h.ranges).sort()).toEqual(['aciq', 'admm', 'entropy', 'minmax', 'mse', 'percentile']);
    expect(h.ranges.minmax!.max).toBeCloseTo(h.max, 6);
    const w1 = report.weights.find((w) => w.name === 'w1')!;
    expect(w1.min.length).toBe(8);
    expect(w1.axis).toBe(0);
    // Symmetric int8 per channel: the covered range reaches each channel's max |w|.
    for (let c = 0; c < 8; c++) expect(w1.clipMax[c]!).toBeGreaterThanOrEqual(Math.max(Math.abs(w1.min[c]!), Math.abs(w1.max[c]!)) * 0.999);
    expect(w1.sqnr).toBeGreaterThan(35);
  });

  it('matches by position a quantized model whose tensors are named as ONNX Runtime names them', async () => {
    const renamed = clone(ModelProtoSchema, quantized);
    const names = new Map<string, string>();
    const g = renamed.graph!;
    const keep = new Set([...g.input, ...g.output].map((v) => v.name));
    let k = 0;
    for (const n of g.node)
      n.output.forEach((o, j) => {
        if (keep.has(o)) return;
        const fresh = n.opType === 'QuantizeLinear' ? `${n.input[0]}_QuantizeLinear_Output` : n.opType === 'DequantizeLinear' ? `${o}_DequantizeLinear_Output` : `/model/t${k++}`;
        names.set(o, fresh);
        n.output[j] = fresh;
      });
    for (const n of g.node) n.input.forEach((i, j) => names.has(i) && (n.input[j] = names.get(i)!));
    const again = await analyzeModels(float, renamed, memorySource(samples), { samples: 12, layerwise: false, histograms: false });
    expect(again.unmatched).toEqual([]);
    expect(again.tensors.map((t) => [t.name, t.sqnr])).toEqual(report.tensors.map((t) => [t.name, t.sqnr]));
  });

  it('reads weights quantized in the graph (Q → DQ on the float initializer), as PyTorch exports them', async () => {
    const fq = fakeQuantExport(float);
    const r = await analyzeModels(float, fq, memorySource(samples), { samples: 4, layerSamples: 2, histograms: false });
    expect(r.unmatched).toEqual([]);
    expect(r.tensors.map((t) => t.name)).toEqual(['x']);
    expect(r.weights.map((w) => w.name)).toEqual(['w1', 'w2', 'w3']);
    expect(r.layers.map((l) => `${l.kind}:${l.tensor}`).sort()).toEqual(['activation:x', 'weight:w1', 'weight:w2', 'weight:w3']);
    for (const w of r.weights) expect(w.sqnr).toBeGreaterThan(35);
  });

  it('analyses a model with 16-bit activations (com.microsoft Q/DQ below opset 21)', async () => {
    const q16 = (await quantize(float, memorySource(samples), { calibSamples: 12, validate: false, activationType: 'uint16' })).model;
    const r = await analyzeModels(float, q16, memorySource(samples), { samples: 4, layerSamples: 2 });
    expect(r.tensors.find((t) => t.name === 'x')!.bits).toBe(16);
    expect(r.tensors.find((t) => t.name === 'x')!.sqnr).toBeGreaterThan(80);
    expect(r.layers.length).toBe(report.layers.length);
  });

  it('refuses a quantized model whose inputs are named otherwise', async () => {
    const renamed = clone(ModelProtoSchema, quantized);
    renamed.graph!.input[0]!.name = 'input';
    for (const n of renamed.graph!.node) n.input.forEach((i, k) => i === 'x' && (n.input[k] = 'input'));
    await expect(analyzeModels(float, renamed, memorySource(samples), { samples: 2 })).rejects.toThrow(/the input '(input|x)' is not in both/);
  });

  it('refuses models that do not correspond, naming the first tensor without a counterpart', async () => {
    const other = (await quantize(cnn('MaxPool'), memorySource(samples), { calibSamples: 12, validate: false })).model;
    await expect(analyzeModels(float, other, memorySource(samples), { samples: 4 })).rejects.toThrow(/'r1'.*do not correspond/);
    await expect(analyzeModels(float, float, memorySource(samples), { samples: 4 })).rejects.toThrow(/nothing quantized to analyse/);
  });
});
