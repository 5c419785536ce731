/**
 * Placement per target on small graphs built here: where QuantizeLinear/DequantizeLinear sit, what the
 * weights and zero points are stored as, and the SQNR against the float graph in onnxruntime on the
 * two held-out samples (18 samples, 16 calibrate). SQNR thresholds leave a margin below the measured value.
 */
import { describe, expect, it } from 'vitest';
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { memorySource } from '../src/data/memory.js';
import type { Sample } from '../src/data/source.js';
import { quantize, type QuantizeOptions } from '../src/quantize.js';
import { DT } from '../src/onnx/dtype.js';
import { int64Tensor, readTensor } from '../src/onnx/tensor.js';
import { attrInt } from '../src/ir/node.js';
import { buildModel, nodesOf, opCounts, optimizedOps, randomFloats, randomSamples, randomWeight, type ModelSpec } from './helpers/build.js';

async function quantizeSpec(spec: ModelSpec, inputDims: number[], options: QuantizeOptions = {}, samples?: Sample[]) {
  const model = buildModel(spec);
  const data = samples ?? randomSamples(spec.inputs[0]!.name, inputDims, 18, 11);
  const result = await quantize(model, memorySource(data), { calibSamples: 16, ...options });
  expect(result.samples).toEqual({ calibration: 16, heldOut: 2, shared: false });
  return { result, q: result.model, sqnr: result.validation!.outputs[0]!.sqnr };
}

const init = (q: ModelProto, name: string): TensorProto => q.graph!.initializer.find((t) => t.name === name)!;
const producer = (q: ModelProto, tensor: string): NodeProto | undefined => q.graph!.node.find((n) => n.output.includes(tensor));
const node = (q: ModelProto, opType: string, i = 0): NodeProto => nodesOf(q, opType)[i]!;

/** The DequantizeLinear that feeds `n.input[i]`, if any. */
function dqOf(q: ModelProto, n: NodeProto, i: number): NodeProto | undefined {
  const p = producer(q, n.input[i]!);
  return p?.opType === 'DequantizeLinear' ? p : undefined;
}

/** For an activation input: the tensor it quantizes (DQ ← Q ← tensor) and its per-tensor parameters. */
function activationQdq(q: ModelProto, n: NodeProto, i: number) {
  const dq = dqOf(q, n, i);
  expect(dq, `${n.name} input ${i} has a DequantizeLinear`).toBeDefined();
  const qn = producer(q, dq!.input[0]!)!;
  expect(qn.opType).toBe('QuantizeLinear');
  expect(qn.input.slice(1)).toEqual(dq!.input.slice(1)); // the pair shares its scale and zero point
  const scale = readTensor(init(q, dq!.input[1]!));
  expect(scale.dims).toEqual([]); // per tensor
  return { source: qn.input[0]!, scale: scale.data[0] as number, zeroPoint: Number(readTensor(init(q, dq!.input[2]!)).data[0]) };
}

/** For a weight input: int8 initializer → DequantizeLinear with `channels` scales along `axis`. */
function expectInt8Weight(q: ModelProto, n: NodeProto, i: number, axis: number, channels: number, weightDims: number[]) {
  const dq = dqOf(q, n, i)!;
  expect(dq, `${n.name} input ${i} has a DequantizeLinear`).toBeDefined();
  const w = init(q, dq.input[0]!);
  expect(w.dataType).toBe(DT.INT8);
  expect(w.dims.map(Number)).toEqual(weightDims);
  expect(attrInt(dq, 'axis')).toBe(axis);
  const scale = readTensor(init(q, dq.input[1]!));
  expect(scale.dims).toEqual([channels]);
  expect(readTensor(init(q, dq.input[2]!)).dims).toEqual([channels]);
  expect(Array.from(scale.data as Float32Array).every((s) => s > 0)).toBe(true);
}

/** Every Q/DQ zero point is an int8 0, and no graph output comes out of a DequantizeLinear (outputs stay float). */
function expectSymmetricInt8(q: ModelProto) {
  const qdq = q.graph!.node.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  expect(qdq.length).toBeGreaterThan(0);
  for (const n of qdq) {
    const z = init(q, n.input[2]!);
    expect(z.dataType, n.name).toBe(DT.INT8);
    expect(Array.from(readTensor(z).data as Int8Array).every((v) => v === 0), n.name).toBe(true);
  }
  for (const o of q.graph!.output) expect(producer(q, o.name)!.opType).not.toBe('DequantizeLinear');
}

describe('tensorrt target', () => {
  const trt: QuantizeOptions = { target: 'tensorrt' };

  it('Gemm (transB=1, bias) → Relu → Gemm: activations per tensor, weights per output channel, biases float', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w1', [32, 16], 21), randomWeight('b1', [32], 22, 0.1), randomWeight('w2', [32, 8], 23), randomWeight('b2', [8], 24, 0.1)],
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['y'] },
      ],
    };
    const { q, sqnr } = await quantizeSpec(spec, [2, 16], trt);
    expectSymmetricInt8(q);
    const [g1, g2] = nodesOf(q, 'Gemm');
    expect(activationQdq(q, g1!, 0).source).toBe('x');
    expectInt8Weight(q, g1!, 1, 0, 32, [32, 16]); // transB: output channels are rows
    expect(g1!.input[2]).toBe('b1'); // TensorRT takes the bias in float
    expect(activationQdq(q, g2!, 0).source).toBe('r');
    expectInt8Weight(q, g2!, 1, 1, 8, [32, 8]); // no transB: output channels are columns
    expect(g2!.input[2]).toBe('b2');
    expect(init(q, 'b1').dataType).toBe(DT.FLOAT);
    expect(opCounts(q)).toMatchObject({ Relu: 1, QuantizeLinear: 2, DequantizeLinear: 4 });
    expect(sqnr).toBeGreaterThan(38); // measured 43.4 dB
  });

  it('MatMul with a constant weight on a 3-D activation', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [16, 8], 25)],
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    };
    const { q, result, sqnr } = await quantizeSpec(spec, [1, 4, 16], trt);
    expectSymmetricInt8(q);
    const mm = node(q, 'MatMul');
    const x = activationQdq(q, mm, 0);
    expect(x.source).toBe('x');
    // Symmetric: the scale covers max |x| over the calibration samples in 127 steps.
    expect(x.scale).toBeCloseTo(Math.max(-result.ranges.x!.min!, result.ranges.x!.max!) / 127, 6);
    expectInt8Weight(q, mm, 1, 1, 8, [16, 8]);
    expect(opCounts(q)).toEqual({ QuantizeLinear: 1, DequantizeLinear: 2, MatMul: 1 });
    expect(sqnr).toBeGreaterThan(38); // measured 43.9 dB
  });

  it('ConvTranspose: weights per output channel on axis 1, bias float', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 3, 2, 2], 26), randomWeight('b', [3], 27, 0.1)],
      nodes: [{ opType: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { strides: [2, 2] } }],
    };
    const { q, sqnr } = await quantizeSpec(spec, [1, 4, 6, 6], trt);
    expectSymmetricInt8(q);
    const ct = node(q, 'ConvTranspose');
    expect(activationQdq(q, ct, 0).source).toBe('x');
    expectInt8Weight(q, ct, 1, 1, 3, [4, 3, 2, 2]);
    expect(ct.input[2]).toBe('b');
    expect(opCounts(q)).toEqual({ QuantizeLinear: 1, DequantizeLinear: 2, ConvTranspose: 1 });
    expect(sqnr).toBeGreaterThan(40); // measured 45.5 dB
  });

  it('residual block: Conv → Relu → Conv, Add with the block input; the skip input quantized (TensorRT fuses the Add into the Conv), one pair per consumer', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w1', [8, 4, 3, 3], 28), randomWeight('b1', [8], 29, 0.1), randomWeight('w2', [4, 8, 3, 3], 30, 0.2)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c1'], outputs: ['r'] },
        { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Add', inputs: ['c2', 'x'], outputs: ['y'] },
      ],
    };
    const { q, result, sqnr } = await quantizeSpec(spec, [1, 4, 8, 8], trt);
    expectSymmetricInt8(q);
    const [conv1, conv2] = nodesOf(q, 'Conv');
    const add = node(q, 'Add');
    expect(activationQdq(q, conv1!, 0).source).toBe('x');
    expectInt8Weight(q, conv1!, 1, 0, 8, [8, 4, 3, 3]);
    expect(conv1!.input[2]).toBe('b1');
    expect(activationQdq(q, conv2!, 0).source).toBe('r');
    expectInt8Weight(q, conv2!, 1, 0, 4, [4, 8, 3, 3]);
    // The Conv's output goes straight into the Add, which TensorRT fuses into that Conv.
    expect(add.input[0]).toBe('c2');
    const a1 = activationQdq(q, add, 1);
    expect(a1.source).toBe('x');
    // x feeds Conv and Add through pairs of their own, with the same (calibrated) parameters.
    expect(dqOf(q, add, 1)).not.toBe(dqOf(q, conv1!, 0));
    expect(a1.scale).toBe(activationQdq(q, conv1!, 0).scale);
    expect(nodesOf(q, 'QuantizeLinear').map((n) => n.input[0]).sort()).toEqual(['r', 'x', 'x']);
    expect(opCounts(q).Relu).toBe(1); // no folding for TensorRT
    expect(result.plan.activations.x!.at).toEqual([{ node: conv1!.name, input: 0 }, { node: add.name, input: 1 }]);
    expect(sqnr).toBeGreaterThan(36); // measured 41.4 dB

    // The same Add is no residual Add when TensorRT cannot fuse it into the Conv: the Conv is
    // excluded, or its output has another reader.
    const excluded = await quantizeSpec({ ...spec, nodes: spec.nodes.map((n, i) => (i === 2 ? { ...n, name: 'conv2' } : n)) }, [1, 4, 8, 8], { ...trt, exclude: ['conv2'] });
    expect(excluded.result.plan.float.find((f) => f.op === 'Add')?.reason).toMatch(/not a residual Add/);
    const shared = { ...spec, outputs: [{ name: 'y' }, { name: 'z' }], nodes: [...spec.nodes, { opType: 'Sigmoid', inputs: ['c2'], outputs: ['z'] }] };
    expect((await quantizeSpec(shared, [1, 4, 8, 8], trt)).result.plan.float.find((f) => f.op === 'Add')?.reason).toMatch(/not a residual Add/);
  });

  // Add(Sin(x), Cos(x)) sits between float ops, far from any Conv/Gemm/MatMul: Q/DQ there would add
  // rounding error and give TensorRT nothing to fuse.
  it('an Add between float ops is not a residual Add and gets no Q/DQ; it is listed as float', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [8, 4], 36)],
      nodes: [
        { opType: 'Sin', inputs: ['x'], outputs: ['s'] },
        { opType: 'Cos', inputs: ['x'], outputs: ['co'] },
        { opType: 'Add', inputs: ['s', 'co'], outputs: ['sc'] },
        { opType: 'Exp', inputs: ['sc'], outputs: ['e'] },
        { opType: 'MatMul', inputs: ['e', 'w'], outputs: ['y'] },
      ],
    };
    const { result } = await quantizeSpec(spec, [2, 8], trt);
    expect(result.plan.activations.s).toBeUndefined();
    expect(result.plan.activations.co).toBeUndefined();
    expect(result.plan.float.find((f) => f.op === 'Add')?.reason).toMatch(/not a residual Add/);
  });
});

describe('ort-qdq: Gather', () => {
  it('Gather of a computed activation shares its input\'s scale and zero point; ORT runs it on 8-bit data', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomWeight('w1', [8, 3, 3, 3], 31),
        int64Tensor('shape', [5], [1, 2, 4, 8, 8]),
        int64Tensor('idx', [], [1]),
        randomWeight('w2', [4, 4, 1, 1], 32),
      ],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Reshape', inputs: ['c', 'shape'], outputs: ['r'] },
        { opType: 'Gather', inputs: ['r', 'idx'], outputs: ['g'], attrs: { axis: 1 } },
        { opType: 'Conv', inputs: ['g', 'w2'], outputs: ['y'] },
      ],
    };
    const { q, result, sqnr } = await quantizeSpec(spec, [1, 3, 8, 8]);
    expect(result.plan.activations.g!.sameAs).toBe('r');
    expect(result.plan.activations.r!.sameAs).toBe('c');
    expect(result.plan.float).toEqual([]);
    const gather = node(q, 'Gather');
    expect(gather.input[1]).toBe('idx'); // the indices stay int64
    const before = activationQdq(q, gather, 0);
    const after = activationQdq(q, node(q, 'Conv', 1), 0);
    expect(before.source).toBe('r');
    expect(after.source).toBe('g');
    expect(after.scale).toBe(before.scale);
    expect(after.zeroPoint).toBe(before.zeroPoint);
    expect(result.ranges.g!.scale).toEqual(result.ranges.c!.scale);
    expect(result.ranges.g!.zero_point).toEqual(result.ranges.c!.zero_point);
    // Equal parameters let ORT drop the Q/DQ around Reshape and Gather: both convs are QLinearConv.
    const fused = await optimizedOps(q);
    expect(fused.QLinearConv ?? fused['com.microsoft.QLinearConv']).toBe(2);
    expect(fused.Gather).toBe(1);
    expect(fused.QuantizeLinear).toBe(1); // x, once
    expect(fused.DequantizeLinear).toBe(1); // y, once
    expect(sqnr).toBeGreaterThan(31); // measured 35.9 dB
  });

  it('Gather on a constant table (an embedding) is not quantized in static mode: the table stays float', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'ids', dims: [1, 6], dtype: DT.INT64 }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('table', [20, 8], 33), randomWeight('w', [8, 4], 34)],
      nodes: [
        { opType: 'Gather', inputs: ['table', 'ids'], outputs: ['e'] },
        { opType: 'MatMul', inputs: ['e', 'w'], outputs: ['y'] },
      ],
    };
    const ids = randomFloats(18 * 6, 35, 0, 20);
    const samples: Sample[] = Array.from({ length: 18 }, (_, k) => ({
      ids: { dtype: 'int64', dims: [1, 6], data: BigInt64Array.from(ids.subarray(k * 6, k * 6 + 6), (v) => BigInt(Math.floor(v))) },
    }));
    const { q, result, sqnr } = await quantizeSpec(spec, [1, 6], {}, samples);
    const gather = node(q, 'Gather');
    expect(gather.input).toEqual(['table', 'ids']); // read directly, no DequantizeLinear
    expect(init(q, 'table').dataType).toBe(DT.FLOAT);
    expect(result.plan.weights.table).toBeUndefined();
    expect(result.ranges.table).toBeUndefined();
    // The Gather's output is still the MatMul's quantized input, with a range of its own.
    const mm = node(q, 'MatMul');
    expect(activationQdq(q, mm, 0).source).toBe('e');
    expect(result.plan.activations.e!.sameAs).toBeUndefined();
    expect(result.plan.activations.e!.method).toBe('minmax');
    expectInt8Weight(q, mm, 1, 1, 4, [8, 4]);
    expect(sqnr).toBeGreaterThan(41); // measured 46.9 dB
  });
});
