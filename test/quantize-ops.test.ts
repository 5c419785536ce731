/**
 * One small graph per quantization rule, built here, quantized, run in onnxruntime and compared with
 * the float graph on held-out samples; and a look at the graph ORT builds, to see it fused the
 * integer kernels the placement is meant to give.
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from '../src/data/memory.js';
import { quantize, type QuantizeOptions } from '../src/quantize.js';
import { int64Tensor, readTensor, floatTensor } from '../src/onnx/tensor.js';
import { DT } from '../src/onnx/dtype.js';
import type { ModelProto } from 'onnx-buf';
import { buildModel, nodesOf, opCounts, optimizedOps, randomSamples, randomWeight, type ModelSpec } from './helpers/build.js';

async function quantizeSpec(spec: ModelSpec, inputDims: number[], options: QuantizeOptions = {}, lo = -1, hi = 1) {
  const model = buildModel(spec);
  const samples = randomSamples(spec.inputs[0]!.name, inputDims, 18, 7, lo, hi);
  const result = await quantize(model, memorySource(samples), { calibSamples: 16, ...options });
  return { model, result, sqnr: result.validation!.outputs[0]!.sqnr };
}

const convRelu: ModelSpec = {
  inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
  outputs: [{ name: 'y' }],
  initializers: [randomWeight('w', [8, 3, 3, 3], 1), randomWeight('b', [8], 2, 0.1)],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
    { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['y'] },
  ],
};
convRelu.initializers!.push(randomWeight('w2', [4, 8, 1, 1], 3));

describe('ort-qdq placement', () => {
  it('Conv → Relu → Conv: Relu folded, weights int8 per channel, bias int32, ORT fuses QLinearConv', async () => {
    const { result, sqnr } = await quantizeSpec(convRelu, [1, 3, 16, 16]);
    const q = result.model;
    expect(opCounts(q).Relu).toBeUndefined();
    expect(result.export.foldedActivations).toEqual(['Relu_1']);
    expect(sqnr).toBeGreaterThan(30);
    // No float copy of a weight is left; weights are int8 with one scale per output channel.
    const inits = q.graph!.initializer;
    expect(inits.some((t) => t.name === 'w' || t.name === 'w2')).toBe(false);
    const w = inits.find((t) => t.name === 'w_quantized')!;
    expect(w.dataType).toBe(DT.INT8);
    expect(readTensor(inits.find((t) => t.name === 'w_scale')!).dims).toEqual([8]);
    expect(inits.find((t) => t.name === 'b_quantized')!.dataType).toBe(DT.INT32);
    // Bias scale is s_input · s_weight, per channel.
    const sx = readTensor(inits.find((t) => t.name === 'x_scale')!).data as Float32Array;
    const sw = readTensor(inits.find((t) => t.name === 'w_scale')!).data as Float32Array;
    const sb = readTensor(inits.find((t) => t.name === 'b_scale')!).data as Float32Array;
    for (let c = 0; c < 8; c++) expect(sb[c]).toBe(Math.fround(sx[0]! * sw[c]!));
    const fused = await optimizedOps(q);
    expect(fused['com.microsoft.QLinearConv'] ?? fused.QLinearConv).toBe(2);
    expect(fused.Conv).toBeUndefined();
  });

  it('quantizes weights that an IR 3 export lists as graph inputs too (ONNX zoo MNIST style)', async () => {
    const spec: ModelSpec = { ...convRelu, opset: 7, irVersion: 3 };
    const model = buildModel(spec);
    const { makeValueInfo } = await import('../src/ir/types.js');
    for (const t of model.graph!.initializer) model.graph!.input.push(makeValueInfo(t.name, { dtype: DT.FLOAT, shape: t.dims.map(Number) }));
    const result = await quantize(model, memorySource(randomSamples('x', [1, 3, 16, 16], 18, 7)), {});
    expect(result.export.quantizedWeights).toBe(2);
    expect(result.prepare.initializerInputsDropped).toBe(3);
    expect(result.model.graph!.input.map((v) => v.name)).toEqual(['x']);
    expect(result.validation!.outputs[0]!.sqnr).toBeGreaterThan(30);
  });

  it('keeps graph input and output names and order', async () => {
    const { model, result } = await quantizeSpec(convRelu, [1, 3, 16, 16]);
    expect(result.model.graph!.input.map((v) => v.name)).toEqual(model.graph!.input.map((v) => v.name));
    expect(result.model.graph!.output.map((v) => v.name)).toEqual(['y']);
    expect(result.model.producerName).toBe('onnxq');
  });

  it('Conv → Clip(0, 6) is folded exactly', async () => {
    const spec: ModelSpec = {
      ...convRelu,
      initializers: [...convRelu.initializers!, floatTensor('lo', [], [0]), floatTensor('hi', [], [6])],
      nodes: [convRelu.nodes[0]!, { opType: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['r'] }, convRelu.nodes[2]!],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 3, 16, 16], {}, -3, 3);
    expect(opCounts(result.model).Clip).toBeUndefined();
    expect(sqnr).toBeGreaterThan(30);
  });

  it('Gemm (transB) and MatMul with constant weights are quantized per output column and fused', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w1', [32, 16], 4), randomWeight('b1', [32], 5, 0.1), randomWeight('w2', [32, 8], 6)],
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [2, 16]);
    expect(sqnr).toBeGreaterThan(30);
    expect(result.plan.weights.w1!.axis).toBe(0);
    expect(result.plan.weights.w2!.axis).toBe(1);
    // The Relu between the Gemm and the MatMul folds into the Gemm's output range, as after a Conv.
    expect(result.export.foldedActivations).toEqual(['Relu_1']);
    expect(opCounts(result.model).Relu).toBeUndefined();
    const fused = await optimizedOps(result.model);
    expect(fused['com.microsoft.QGemm']).toBe(1);
    // The last MatMul writes a graph output: int8 inputs, float output, no requantization of y.
    expect(fused['com.microsoft.MatMulIntegerToFloat']).toBe(1);
    expect(result.plan.activations.y).toBeUndefined();
  });

  it('a 2-D MatMul + bias Add head (TensorFlow/Paddle style) becomes Gemm with an int32 bias: ORT runs QGemm, not a float Gemm on dequantized inputs', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 16] }],
      outputs: [{ name: 'y' }],
      // a [1, N] bias, as the ONNX zoo MNIST has
      initializers: [randomWeight('w0', [16, 16], 7), randomWeight('w1', [16, 10], 8), randomWeight('b1', [1, 10], 9, 0.1)],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w0'], outputs: ['h'] },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'MatMul', name: 'fc', inputs: ['r', 'w1'], outputs: ['logits'] },
        { opType: 'Add', inputs: ['logits', 'b1'], outputs: ['z'] },
        { opType: 'Softmax', inputs: ['z'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [2, 16]);
    expect(result.prepare.matmulBiasFused).toBe(1);
    const gemm = nodesOf(result.model, 'Gemm');
    expect(gemm.map((n) => n.name)).toEqual(['fc']);
    expect(result.plan.biases.b1_1d).toMatchObject({ node: 'fc', weight: 'w1' });
    const fused = await optimizedOps(result.model);
    expect(fused['com.microsoft.QGemm']).toBe(1);
    expect(fused.Gemm).toBeUndefined();
    expect(sqnr).toBeGreaterThan(46); // measured 50.6 dB
  });

  it('a Relu/Clip after a MatMul that will not fold leaves the MatMul output float (no extra requantization)', async () => {
    const spec = (clip: boolean): ModelSpec => ({
      inputs: [{ name: 'x', dims: [2, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w0', [16, 16], 7), randomWeight('w1', [16, 8], 8), floatTensor('lo', [], [-0.5]), floatTensor('hi', [], [0.5])],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w0'], outputs: ['h'] },
        clip ? { opType: 'Clip', inputs: ['h', 'lo', 'hi'], outputs: ['r'] } : { opType: 'Relu', name: 'relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'MatMul', inputs: ['r', 'w1'], outputs: ['y'] },
      ],
    });
    for (const [s, options] of [[spec(true), {}], [spec(false), { symmetric: true }], [spec(false), { exclude: ['relu'] }]] as [ModelSpec, QuantizeOptions][]) {
      const { result } = await quantizeSpec(s, [2, 16], options);
      expect(result.plan.activations.h).toBeUndefined();
      expect(result.plan.activations.r).toBeDefined();
      expect(result.export.foldedActivations).toEqual([]);
    }
  });

  it('the MatMul + bias pair stays as written when --exclude or --op-types speak of it; a bias shared by two heads is copied for each', async () => {
    const head = (name: string, w: string): ModelSpec['nodes'] => [
      { opType: 'MatMul', name, inputs: ['r', w], outputs: [`${name}_mm`] },
      { opType: 'Add', name: `${name}_add`, inputs: [`${name}_mm`, 'b'], outputs: [`${name}_y`] },
    ];
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 16] }],
      outputs: [{ name: 'a_y' }, { name: 'b_y' }],
      initializers: [randomWeight('w0', [16, 16], 7), randomWeight('wa', [16, 10], 8), randomWeight('wb', [16, 10], 9), randomWeight('b', [10], 10, 0.1)],
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w0'], outputs: ['h'] }, { opType: 'Relu', inputs: ['h'], outputs: ['r'] }, ...head('a', 'wa'), ...head('b', 'wb')],
    };
    const both = await quantizeSpec(spec, [2, 16]);
    expect(both.result.prepare.matmulBiasFused).toBe(2);
    expect(Object.values(both.result.plan.biases).map((e) => e.node).sort()).toEqual(['a', 'b']);
    expect((await optimizedOps(both.result.model))['com.microsoft.QGemm']).toBe(2);
    for (const options of [{ exclude: ['a', 'b'] }, { exclude: ['a_add', 'b_add'] }, { opTypes: ['MatMul'] }]) {
      const kept = await quantizeSpec(spec, [2, 16], options);
      expect(kept.result.prepare.matmulBiasFused).toBe(0);
      expect(kept.result.warnings.filter((w) => w.startsWith('--exclude'))).toEqual([]);
    }
  });

  it('MatMul of two activations quantizes both inputs', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { opType: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [0, 2, 1] } },
        { opType: 'MatMul', inputs: ['x', 'xt'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 4, 8]);
    expect(Object.keys(result.plan.weights)).toEqual([]);
    expect(result.plan.activations.xt!.sameAs).toBe('x');
    expect(sqnr).toBeGreaterThan(25);
    expect((await optimizedOps(result.model))['com.microsoft.MatMulIntegerToFloat']).toBe(1);
  });

  it('residual Add, Mul, Concat, pooling and Sigmoid become QLinear kernels', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 4, 3, 3], 8), floatTensor('k', [1, 4, 1, 1], [0.5, 1, 1.5, 2]), randomWeight('w3', [2, 8, 1, 1], 14)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Add', inputs: ['c', 'x'], outputs: ['a'] },
        { opType: 'Sigmoid', inputs: ['a'], outputs: ['s'] },
        { opType: 'Mul', inputs: ['a', 's'], outputs: ['m'] },
        { opType: 'Mul', inputs: ['m', 'k'], outputs: ['mk'] },
        { opType: 'AveragePool', inputs: ['mk'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { opType: 'GlobalAveragePool', inputs: ['mk'], outputs: ['g'] },
        { opType: 'MaxPool', inputs: ['mk'], outputs: ['mp'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { opType: 'Mul', inputs: ['p', 'g'], outputs: ['pg'] },
        { opType: 'Concat', inputs: ['pg', 'mp'], outputs: ['cat'], attrs: { axis: 1 } },
        { opType: 'Conv', inputs: ['cat', 'w3'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 4, 8, 8]);
    expect(sqnr).toBeGreaterThan(25);
    expect(result.plan.activations.mp!.sameAs).toBe('mk');
    expect(result.plan.weights.k!.dtype).toBe('uint8'); // a constant operand is quantized like an activation
    const fused = await optimizedOps(result.model);
    for (const op of ['QLinearAdd', 'QLinearMul', 'QLinearSigmoid', 'QLinearAveragePool', 'QLinearGlobalAveragePool', 'QLinearConcat'])
      expect(fused[`com.microsoft.${op}`], op).toBeGreaterThan(0);
    expect(fused.Add ?? 0).toBe(0);
    expect(fused.Mul ?? 0).toBe(0);
  });

  it('data-movement ops share their input\'s scale and zero point', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 2, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomWeight('w', [4, 2, 1, 1], 9),
        int64Tensor('shape', [3], [1, 8, 16]),
        int64Tensor('starts', [1], [1]),
        int64Tensor('ends', [1], [15]),
        int64Tensor('axes', [1], [2]),
        int64Tensor('pads', [6], [0, 0, 1, 0, 0, 1]),
        int64Tensor('ax0', [1], [0]),
        floatTensor('roi', [0], []),
        floatTensor('scales', [4], [1, 1, 2, 2]),
        int64Tensor('split', [2], [2, 2]),
        randomWeight('wout', [272, 4], 15, 0.1),
      ],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { opType: 'Resize', inputs: ['c', 'roi', 'scales'], outputs: ['rs'], attrs: { mode: 'nearest' } },
        { opType: 'Split', inputs: ['rs', 'split'], outputs: ['s0', 's1'], attrs: { axis: 1 } },
        { opType: 'Reshape', inputs: ['s0', 'shape'], outputs: ['r'] },
        { opType: 'Transpose', inputs: ['r'], outputs: ['t'], attrs: { perm: [0, 2, 1] } },
        { opType: 'Slice', inputs: ['t', 'starts', 'ends', 'axes'], outputs: ['sl'] },
        { opType: 'Pad', inputs: ['sl', 'pads'], outputs: ['pd'] },
        { opType: 'Unsqueeze', inputs: ['pd', 'ax0'], outputs: ['u'] },
        { opType: 'Squeeze', inputs: ['u', 'ax0'], outputs: ['sq'] },
        { opType: 'Flatten', inputs: ['sq'], outputs: ['f'], attrs: { axis: 1 } },
        { opType: 'Flatten', inputs: ['s1'], outputs: ['f1'], attrs: { axis: 1 } },
        { opType: 'Concat', inputs: ['f', 'f1'], outputs: ['cat'], attrs: { axis: 1 } },
        { opType: 'MatMul', inputs: ['cat', 'wout'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 2, 4, 4]);
    expect(sqnr).toBeGreaterThan(30);
    for (const t of ['rs', 's0', 's1', 'r', 't', 'sl', 'pd', 'u', 'sq', 'f']) expect(result.ranges[t]!.scale).toEqual(result.ranges.c!.scale);
    const fused = await optimizedOps(result.model);
    // Everything runs on 8-bit data: one Q for the input, one DQ/Q around Pad (ORT has no 8-bit Pad
    // fusion), and the final MatMul takes int8 and writes the float output itself.
    expect(fused.QuantizeLinear).toBe(2);
    expect(fused.DequantizeLinear).toBe(1);
    expect(fused.QLinearConv ?? fused['com.microsoft.QLinearConv']).toBe(1);
    expect(fused['com.microsoft.MatMulIntegerToFloat']).toBe(1);
  });

  it('Softmax output gets the fixed range [0, 1]; LeakyRelu and HardSigmoid are quantized, HardSwish stays float', async () => {
    const spec: ModelSpec = {
      opset: 14,
      inputs: [{ name: 'x', dims: [2, 10] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w1', [10, 10], 16, 2), randomWeight('w2', [10, 3], 17)],
      nodes: [
        { opType: 'HardSwish', inputs: ['x'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'w1'], outputs: ['m'] },
        { opType: 'LeakyRelu', inputs: ['m'], outputs: ['l'], attrs: { alpha: 0.1 } },
        { opType: 'HardSigmoid', inputs: ['l'], outputs: ['hs'] },
        { opType: 'Softmax', inputs: ['hs'], outputs: ['sm'], attrs: { axis: -1 } },
        { opType: 'MatMul', inputs: ['sm', 'w2'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [2, 10], {}, -4, 4);
    expect(result.ranges.sm!.scale[0]).toBe(Math.fround(1 / 255));
    expect(result.ranges.sm!.zero_point[0]).toBe(0);
    for (const t of ['l', 'hs']) expect(result.plan.activations[t]!.method).toBe('minmax');
    expect(result.plan.float.map((f) => f.op)).toEqual(['HardSwish']);
    expect(sqnr).toBeGreaterThan(25);
  });

  it('ConvTranspose weights are per channel on axis 1', async () => {
    // A 3×3 kernel at stride 2 overlaps its neighbours' blocks: it stays a ConvTranspose.
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 3, 3, 3], 10), randomWeight('b', [3], 11, 0.1)],
      nodes: [{ opType: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { strides: [2, 2] } }],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 4, 6, 6]);
    expect(result.plan.weights.w!.axis).toBe(1);
    expect(result.ranges.w!.scale).toHaveLength(3);
    expect(sqnr).toBeGreaterThan(30);
  });

  it('a ConvTranspose whose kernel equals its stride runs as QLinearConv (1×1 Conv + DepthToSpace), not in float between Q/DQ', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 8, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w0', [8, 8, 3, 3], 12), randomWeight('w', [8, 4, 2, 2], 13), floatTensor('b', [1, 4, 1, 1], [0.1, -0.1, 0.2, 0]), randomWeight('w2', [4, 4, 3, 3], 14)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w0'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'ConvTranspose', inputs: ['c', 'w'], outputs: ['t'], attrs: { strides: [2, 2] } },
        { opType: 'Add', inputs: ['t', 'b'], outputs: ['a'] },
        { opType: 'Relu', inputs: ['a'], outputs: ['r'] },
        { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 8, 6, 6]);
    expect(result.prepare.convTransposesAsConv).toBe(1);
    expect(opCounts(result.model).ConvTranspose).toBeUndefined();
    expect(result.export.foldedActivations).toHaveLength(1);
    expect(sqnr).toBeGreaterThan(25);
    const fused = await optimizedOps(result.model);
    expect(fused['com.microsoft.QLinearConv'] ?? fused.QLinearConv).toBe(3);
    expect(fused.ConvTranspose).toBeUndefined();
    // --exclude ConvTranspose keeps it as written, float; and TensorRT quantizes ConvTranspose itself: its graph keeps it.
    const excluded = await quantizeSpec(spec, [1, 8, 6, 6], { exclude: ['ConvTranspose'] });
    expect(excluded.result.prepare.convTransposesAsConv).toBe(0);
    expect(excluded.result.plan.float.map((f) => `${f.op}: ${f.reason}`)).toContain('ConvTranspose: excluded');
    const trt = await quantize(buildModel(spec), memorySource(randomSamples('x', [1, 8, 6, 6], 4, 7)), { target: 'tensorrt', validate: false });
    expect(trt.prepare.convTransposesAsConv).toBe(0);
    expect(opCounts(trt.model).ConvTranspose).toBe(1);
  });

  it('leaves Add/Mul between float ops in float (no integer kernel to gain, only error)', async () => {
    // A LayerNorm-like island: ReduceMean → Sub → Mul → ReduceMean → Add(ε) → Sqrt → Div, between two MatMuls.
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w1', [8, 8], 18), randomWeight('w2', [8, 4], 19), floatTensor('eps', [], [1e-5])],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
        { opType: 'ReduceMean', inputs: ['h'], outputs: ['mu'], attrs: { axes: [-1] } },
        { opType: 'Sub', inputs: ['h', 'mu'], outputs: ['d'] },
        { opType: 'Mul', inputs: ['d', 'd'], outputs: ['d2'] },
        { opType: 'ReduceMean', inputs: ['d2'], outputs: ['var'], attrs: { axes: [-1] } },
        { opType: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
        { opType: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
        { opType: 'Div', inputs: ['d', 'sd'], outputs: ['n'] },
        { opType: 'MatMul', inputs: ['n', 'w2'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [2, 8]);
    const floatOps = result.plan.float.filter((f) => f.reason.startsWith('between float ops')).map((f) => f.op);
    expect(floatOps.sort()).toEqual(['Add', 'Mul']);
    expect(result.plan.activations.ve).toBeUndefined();
    expect(result.plan.activations.n).toBeDefined(); // the second MatMul's input
    expect(sqnr).toBeGreaterThan(30);
  });

  it('leaves If subgraphs float, lists them, and counts their weights in inspect', async () => {
    const { create } = await import('@bufbuild/protobuf');
    const { GraphProtoSchema } = await import('onnx-buf');
    const { makeValueInfo } = await import('../src/ir/types.js');
    const { inspectModel } = await import('../src/analyze/inspect.js');
    const { makeNode } = await import('../src/ir/node.js');
    const sub = (name: string, seed: number) =>
      create(GraphProtoSchema, {
        name,
        initializer: [randomWeight(`${name}_w`, [8, 8], seed)],
        node: [makeNode({ opType: 'MatMul', inputs: ['h', `${name}_w`], outputs: [`${name}_out`], name: `${name}_mm` })],
        output: [makeValueInfo(`${name}_out`, { dtype: DT.FLOAT, shape: [2, 8] })],
      });
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [8, 8], 20), floatTensor('zero', [], [0])],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
        { opType: 'ReduceMean', inputs: ['h'], outputs: ['m'], attrs: { keepdims: 0 } },
        { opType: 'Greater', inputs: ['m', 'zero'], outputs: ['c'] },
        { opType: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: sub('then', 21), else_branch: sub('else', 22) } },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [2, 8]);
    expect(result.plan.subgraphs).toEqual([{ node: 'If_3', op: 'If', nodes: 2 }]);
    expect(sqnr).toBeGreaterThan(30);
    const info = inspectModel(buildModel(spec));
    expect(info.parameters.inSubgraphs).toBe(2 * 64 * 4);
    expect(info.ops.MatMul).toBe(3);
  });

  it('an op with no rule stays float and is listed; the graph still runs', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 4, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 4, 1, 1], 12)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { opType: 'Sin', inputs: ['c'], outputs: ['s'] },
        { opType: 'Conv', inputs: ['s', 'w'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 4, 4, 4]);
    expect(result.plan.float).toEqual([{ node: 'Sin_1', op: 'Sin', reason: 'no quantization rule' }]);
    expect(opCounts(result.model).Sin).toBe(1);
    expect(sqnr).toBeGreaterThan(30);
  });

  it('--exclude by name and by op type keeps nodes float; an unknown name is a warning', async () => {
    const { result } = await quantizeSpec(convRelu, [1, 3, 16, 16], { exclude: ['Conv_2', 'Relu', 'nothing-by-this-name'] });
    expect(result.plan.float.map((f) => f.node).sort()).toEqual(['Conv_2', 'Relu_1']);
    expect(result.warnings).toEqual(['--exclude nothing-by-this-name: no node has this name or op type.']);
    expect(opCounts(result.model).Relu).toBe(1);
    expect(Object.keys(result.plan.weights)).toEqual(['w']);
  });

  it('--reduce-range gives 7-bit weights and keeps 8-bit activations, so Relu/Clip still fold', async () => {
    const { result, sqnr } = await quantizeSpec(convRelu, [1, 3, 16, 16], { reduceRange: true });
    expect(result.ranges.w!.qmin).toBe(-64);
    expect(result.ranges.w!.qmax).toBe(64);
    expect(result.ranges.r!.qmax).toBe(255);
    expect(result.export.foldedActivations).toEqual(['Relu_1']);
    expect(sqnr).toBeGreaterThan(28);
  });

  it('entropy gets TensorRT\'s bins (a second pass over ±max |x|); percentile and mse one growing pass', async () => {
    const { calibrate } = await import('../src/quantize.js');
    const model = buildModel(convRelu);
    const source = memorySource(randomSamples('x', [1, 3, 16, 16], 18, 7));
    const exact = await calibrate(model, source, { methods: ['entropy'] });
    for (const s of exact.stats.values()) {
      expect(s.histogram!.bins).toBe(4096);
      expect(s.histogram!.absmax).toBe(Math.max(Math.abs(s.min), Math.abs(s.max)));
    }
    const grown = await calibrate(model, source, { methods: ['percentile', 'mse'] });
    for (const s of grown.stats.values()) expect(s.histogram!.absmax).toBeGreaterThanOrEqual(Math.max(Math.abs(s.min), Math.abs(s.max)));
  });

  it('without validation every sample calibrates; with it 10 % are held out', async () => {
    const model = buildModel(convRelu);
    const samples = randomSamples('x', [1, 3, 16, 16], 18, 7);
    const none = await quantize(model, memorySource(samples), { validate: false });
    expect(none.samples).toEqual({ calibration: 18, heldOut: 0, shared: false });
    expect(none.validation).toBeUndefined();
    const some = await quantize(model, memorySource(samples), {});
    expect(some.samples).toEqual({ calibration: 16, heldOut: 2, shared: false });
  });

  it('per-tensor weights and symmetric int8 activations when asked', async () => {
    const { result, sqnr } = await quantizeSpec(convRelu, [1, 3, 16, 16], { perChannel: false, symmetric: true, activationType: 'int8' });
    expect(result.ranges.w!.scale).toHaveLength(1);
    for (const r of Object.values(result.ranges)) if (r.kind === 'activation') expect(r.zero_point).toEqual([0]);
    expect(opCounts(result.model).Relu).toBe(1); // a symmetric range cannot clamp at 0: the Relu stays
    expect(sqnr).toBeGreaterThan(25);
  });
});

describe('16-bit activations', () => {
  it('uint16 activations use onnxruntime\'s com.microsoft Q/DQ below opset 21 and run', async () => {
    const { result, sqnr } = await quantizeSpec(convRelu, [1, 3, 16, 16], { activationType: 'uint16' });
    const q = result.model;
    const qdq = q.graph!.node.filter((n) => n.opType === 'QuantizeLinear');
    expect(qdq.every((n) => n.domain === 'com.microsoft')).toBe(true);
    expect(q.opsetImport.some((o) => o.domain === 'com.microsoft')).toBe(true);
    expect(result.ranges.x!.qmax).toBe(65535);
    expect(sqnr).toBeGreaterThan(38); // 16-bit activations leave the int8 weights as the main error
  });
});

describe('tensorrt target', () => {
  it('puts symmetric int8 Q/DQ on Conv inputs only, one pair per consumer, bias left float', async () => {
    const { result, sqnr } = await quantizeSpec(convRelu, [1, 3, 16, 16], { target: 'tensorrt' });
    const q = result.model;
    const zps = q.graph!.initializer.filter((t) => t.name.endsWith('_zero_point'));
    for (const z of zps) {
      expect(z.dataType).toBe(DT.INT8);
      expect(Array.from(readTensor(z).data as Int8Array).every((v) => v === 0)).toBe(true);
    }
    // Inputs of the two convs are quantized; outputs are not.
    const quantizedInputs = nodesOf(q, 'QuantizeLinear').map((n) => n.input[0]);
    expect(quantizedInputs.sort()).toEqual(['r', 'x']);
    expect(q.graph!.initializer.some((t) => t.name === 'b')).toBe(true);
    expect(opCounts(q).Relu).toBe(1);
    expect(sqnr).toBeGreaterThan(30);
  });
});

describe('prepare', () => {
  it('folds BatchNormalization into the Conv before it and removes Identity/Dropout with the same result', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomWeight('w', [4, 3, 3, 3], 13),
        floatTensor('g', [4], [1.5, 0.5, 2, 1]),
        floatTensor('beta', [4], [0.1, -0.2, 0.3, 0]),
        floatTensor('mu', [4], [0.05, 0.1, -0.1, 0.2]),
        floatTensor('var', [4], [0.5, 2, 1, 0.25]),
      ],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { opType: 'BatchNormalization', inputs: ['c', 'g', 'beta', 'mu', 'var'], outputs: ['bn'] },
        { opType: 'Identity', inputs: ['bn'], outputs: ['id'] },
        { opType: 'Dropout', inputs: ['id'], outputs: ['y'] },
      ],
    };
    const { result, sqnr } = await quantizeSpec(spec, [1, 3, 8, 8], { tensorrtCache: true });
    // The TensorRT cache is keyed by the float model's tensors, the Conv output before the BN included.
    expect([...result.tensorrtAmax!.keys()].sort()).toEqual(['bn', 'c', 'id', 'x', 'y']);
    expect(result.prepare.batchNormsFolded).toBe(1);
    expect(result.prepare.identitiesRemoved).toBe(2);
    expect(opCounts(result.model).BatchNormalization).toBeUndefined();
    expect(sqnr).toBeGreaterThan(30);
  });
});

export type { ModelProto };
