/**
 * Every backward rule (src/train/backward/) against central finite differences in onnxruntime, float32.
 * Each case is one op on random inputs, every float input trained, the loss an MSE against a random
 * target. Tolerance: relative error ≤ 1e-2 per checked coordinate (see gradcheck.ts for the measure;
 * ε = 1e-2 (0.1 for one ConvTranspose whose 512 outputs make the float32 loss coarse; the loss is
 * quadratic in each input of a linear op, so a large ε costs nothing), or 2e-3 for MaxPool, whose inputs are spaced 1e-2 apart so that no window's maximum changes). Inputs of piecewise ops are kept at least 0.05 from their kinks.
 */
import { describe, expect, it } from 'vitest';
import type { TensorProto } from 'onnx-buf';
import type { AttrValue } from '../../src/ir/node.js';
import { floatTensor, int64Tensor } from '../../src/onnx/tensor.js';
import type { Sample } from '../../src/data/source.js';
import { buildModel, randomFloats, runModel } from '../helpers/build.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { measureShapes } from '../../src/train/fake-quant.js';
import { gradCheck } from './gradcheck.js';

interface Operand {
  name: string;
  dims: number[];
  /** Fed as a graph input (default) or stored as an initializer. */
  weight?: boolean;
  lo?: number;
  hi?: number;
  /** Not trained (and not float: e.g. int64 shapes). */
  constant?: number[];
  /** A float initializer that is not trained. */
  frozen?: boolean;
  /** Values to keep away from (kinks), by at least 0.05. */
  avoid?: number[];
  /** Exact values (a constant float input such as Resize's scales). */
  fixed?: number[];
  /** Values spaced apart (MaxPool: no near ties). */
  distinct?: boolean;
}

interface Case {
  name: string;
  op: string;
  operands: Operand[];
  attrs?: Record<string, AttrValue>;
  opset?: number;
  eps?: number;
  outputs?: number;
}

function values(o: Operand, seed: number): Float32Array {
  const n = o.dims.reduce((a, b) => a * b, 1);
  const v = randomFloats(n, seed, o.lo ?? -1, o.hi ?? 1);
  if (o.distinct) {
    const order = [...v.keys()].sort((a, b) => v[a]! - v[b]!);
    order.forEach((k, rank) => (v[k] = (o.lo ?? -1) + (rank * ((o.hi ?? 1) - (o.lo ?? -1))) / n));
  }
  for (const k of o.avoid ?? []) for (let i = 0; i < n; i++) if (Math.abs(v[i]! - k) < 0.05) v[i] = k + (v[i]! < k ? -0.05 : 0.05);
  return v;
}

async function check(c: Case): Promise<Record<string, number>> {
  const data: Sample = {};
  const initializers: TensorProto[] = [];
  const trainable: string[] = [];
  c.operands.forEach((o, i) => {
    if (o.name === '') return; // an optional input left out
    if (o.constant) {
      initializers.push(int64Tensor(o.name, o.dims, o.constant));
      return;
    }
    const v = o.fixed ? Float32Array.from(o.fixed) : values(o, 11 + 17 * i);
    if (o.weight) initializers.push(floatTensor(o.name, o.dims, v));
    else data[o.name] = { dtype: 'float32', dims: o.dims, data: v };
    if (!o.frozen) trainable.push(o.name);
  });
  const model = buildModel({
    inputs: c.operands.filter((o) => o.name && !o.weight && !o.constant).map((o) => ({ name: o.name, dims: o.dims })),
    outputs: [{ name: 'y' }],
    nodes: [{ opType: c.op, inputs: c.operands.map((o) => o.name), outputs: c.outputs === 2 ? ['y', 'extra'] : ['y'], attrs: c.attrs }],
    initializers,
    opset: c.opset ?? 13,
  });
  return gradCheck(model, data, trainable, { eps: c.eps });
}

const x = (dims: number[], extra: Partial<Operand> = {}): Operand => ({ name: 'x', dims, ...extra });
const w = (name: string, dims: number[], extra: Partial<Operand> = {}): Operand => ({ name, dims, weight: true, ...extra });

const CASES: Case[] = [
  { name: 'Conv 3×3, pad 1, bias', op: 'Conv', operands: [x([2, 3, 6, 6]), w('w', [4, 3, 3, 3]), w('b', [4])], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'Conv stride 2, asymmetric pads', op: 'Conv', operands: [x([2, 3, 7, 8]), w('w', [4, 3, 3, 3]), w('b', [4])], attrs: { strides: [2, 2], pads: [1, 0, 0, 2] } },
  { name: 'Conv stride 3, kernel 2 (uncovered tail)', op: 'Conv', operands: [x([1, 2, 8, 8]), w('w', [3, 2, 2, 2])], attrs: { strides: [3, 3] } },
  { name: 'Conv dilation 2', op: 'Conv', operands: [x([2, 2, 7, 7]), w('w', [3, 2, 3, 3]), w('b', [3])], attrs: { dilations: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'Conv group 2, stride 2', op: 'Conv', operands: [x([2, 4, 6, 6]), w('w', [6, 2, 3, 3]), w('b', [6])], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'Conv depthwise, stride 2', op: 'Conv', operands: [x([2, 4, 7, 7]), w('w', [4, 1, 3, 3]), w('b', [4])], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'Conv depthwise multiplier 2', op: 'Conv', operands: [x([1, 3, 5, 5]), w('w', [6, 1, 3, 3])], attrs: { group: 3, pads: [1, 1, 1, 1] } },
  { name: 'Conv depthwise stride 1, dilation 2, asymmetric pads', op: 'Conv', operands: [x([2, 3, 7, 6]), w('w', [3, 1, 3, 3]), w('b', [3])], attrs: { group: 3, dilations: [2, 2], pads: [2, 1, 0, 2] } },
  { name: 'Conv group 2 (3 out, 2 in per group), stride 1', op: 'Conv', operands: [x([2, 4, 5, 5]), w('w', [6, 2, 3, 3])], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: 'Conv 1×1', op: 'Conv', operands: [x([2, 3, 4, 4]), w('w', [5, 3, 1, 1]), w('b', [5])] },
  { name: 'Conv SAME_UPPER stride 2', op: 'Conv', operands: [x([1, 2, 7, 6]), w('w', [3, 2, 3, 3])], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'Conv 1-D', op: 'Conv', operands: [x([2, 3, 9]), w('w', [2, 3, 3]), w('b', [2])], attrs: { strides: [2], pads: [1, 1] } },
  { name: 'Gemm', op: 'Gemm', operands: [x([3, 4]), w('w', [4, 5]), w('b', [5])] },
  { name: 'Gemm transB, alpha, beta, bias [M, N]', op: 'Gemm', operands: [x([3, 4]), w('w', [5, 4]), w('b', [3, 5])], attrs: { transB: 1, alpha: 0.7, beta: 1.3 } },
  { name: 'Gemm transA, bias [1]', op: 'Gemm', operands: [x([4, 3]), w('w', [4, 5]), w('b', [1])], attrs: { transA: 1 } },
  { name: 'Gemm transA transB', op: 'Gemm', operands: [x([4, 3]), w('w', [5, 4])], attrs: { transA: 1, transB: 1 } },
  { name: 'MatMul 2-D', op: 'MatMul', operands: [x([3, 4]), w('w', [4, 5])] },
  { name: 'MatMul 3-D × 2-D (weight broadcast)', op: 'MatMul', operands: [x([2, 3, 4]), w('w', [4, 5])] },
  { name: 'MatMul batched, broadcast batch', op: 'MatMul', operands: [x([2, 3, 4]), w('w', [1, 4, 2])] },
  { name: 'MatMul by a vector', op: 'MatMul', operands: [x([2, 3, 4]), w('w', [4])] },
  { name: 'Add, same shape', op: 'Add', operands: [x([2, 3]), w('b', [2, 3])] },
  { name: 'Add, broadcast [C,1,1]', op: 'Add', operands: [x([2, 3, 4, 4]), w('b', [3, 1, 1])] },
  { name: 'Add, both broadcast', op: 'Add', operands: [x([1, 3, 1]), w('b', [2, 1, 4])] },
  { name: 'Sub, broadcast scalar', op: 'Sub', operands: [x([2, 3]), w('b', [])] },
  { name: 'Sub, broadcast first', op: 'Sub', operands: [x([4]), w('b', [3, 4])] },
  { name: 'Mul, broadcast', op: 'Mul', operands: [x([2, 3, 4]), w('b', [3, 1])] },
  { name: 'Mul, both broadcast', op: 'Mul', operands: [x([2, 1, 4]), w('b', [1, 3, 1])] },
  { name: 'Div, broadcast', op: 'Div', operands: [x([2, 3, 4]), w('b', [4], { lo: 0.5, hi: 2 })] },
  { name: 'Relu', op: 'Relu', operands: [x([2, 3, 4], { avoid: [0] })] },
  { name: 'LeakyRelu', op: 'LeakyRelu', operands: [x([2, 3, 4], { avoid: [0] })], attrs: { alpha: 0.1 } },
  { name: 'Clip', op: 'Clip', operands: [x([2, 3, 4], { avoid: [-0.5, 0.5] }), w('lo', [], { frozen: true, lo: -0.5, hi: -0.5 }), w('hi', [], { frozen: true, lo: 0.5, hi: 0.5 })] },
  { name: 'Sigmoid', op: 'Sigmoid', operands: [x([2, 3, 4], { lo: -3, hi: 3 })] },
  { name: 'Tanh', op: 'Tanh', operands: [x([2, 3, 4], { lo: -2, hi: 2 })] },
  { name: 'HardSigmoid', op: 'HardSigmoid', operands: [x([3, 8], { lo: -4, hi: 4, avoid: [-2.5, 2.5] })] },
  { name: 'HardSwish', op: 'HardSwish', operands: [x([3, 8], { lo: -5, hi: 5, avoid: [-3, 3] })], opset: 14 },
  { name: 'Flatten', op: 'Flatten', operands: [x([2, 3, 2, 2])], attrs: { axis: 2 } },
  { name: 'Reshape', op: 'Reshape', operands: [x([2, 3, 4]), { name: 'shape', dims: [2], constant: [6, 4] }] },
  { name: 'Transpose', op: 'Transpose', operands: [x([2, 3, 4])], attrs: { perm: [2, 0, 1] } },
  { name: 'Identity', op: 'Identity', operands: [x([2, 3])] },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', operands: [x([2, 3, 4, 5])] },
  { name: 'AveragePool 2×2 stride 2', op: 'AveragePool', operands: [x([2, 3, 6, 6])], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { name: 'AveragePool 3×3 stride 2 pad 1, pads excluded', op: 'AveragePool', operands: [x([1, 2, 7, 7])], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'AveragePool 3×3 stride 2 pad 1, pads counted', op: 'AveragePool', operands: [x([1, 2, 6, 6])], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  { name: 'MaxPool 2×2 stride 2', op: 'MaxPool', operands: [x([2, 3, 6, 6], { distinct: true })], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, eps: 2e-3 },
  { name: 'MaxPool 2×2 stride 2, odd size (by Indices)', op: 'MaxPool', operands: [x([1, 2, 7, 7], { distinct: true })], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, eps: 2e-3 },
  { name: 'MaxPool 3×3 stride 2 pad 1 (overlapping)', op: 'MaxPool', operands: [x([2, 2, 7, 7], { distinct: true })], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, eps: 2e-3 },
  { name: 'Concat', op: 'Concat', operands: [x([2, 3, 4]), w('b', [2, 2, 4])], attrs: { axis: 1 } },
  { name: 'Softmax, last axis', op: 'Softmax', operands: [x([3, 5], { lo: -2, hi: 2 })], attrs: { axis: -1 } },
  { name: 'Softmax, axis 1 of 3', op: 'Softmax', operands: [x([2, 4, 3], { lo: -2, hi: 2 })], attrs: { axis: 1 } },
  { name: 'ReduceMean, axes [2, 3]', op: 'ReduceMean', operands: [x([2, 3, 4, 4])], attrs: { axes: [2, 3] } },
  { name: 'ReduceMean, keepdims 0', op: 'ReduceMean', operands: [x([2, 3, 4])], attrs: { axes: [1], keepdims: 0 } },
  { name: 'ReduceMean, axes input (opset 18)', op: 'ReduceMean', operands: [x([2, 3, 4]), { name: 'axes', dims: [1], constant: [-1] }], attrs: { keepdims: 0 }, opset: 18 },
  { name: 'Squeeze', op: 'Squeeze', operands: [x([2, 1, 3]), { name: 'axes', dims: [1], constant: [1] }] },
  { name: 'Unsqueeze', op: 'Unsqueeze', operands: [x([2, 3]), { name: 'axes', dims: [2], constant: [0, 3] }] },
  { name: 'Dropout (inference)', op: 'Dropout', operands: [x([2, 3])] },
  { name: 'Split, one output unused', op: 'Split', operands: [x([2, 5, 3]), { name: 'split', dims: [2], constant: [2, 3] }], attrs: { axis: 1 }, outputs: 2 },
  { name: 'Slice, unit steps', op: 'Slice', operands: [x([3, 6, 5]), { name: 'starts', dims: [2], constant: [1, -4] }, { name: 'ends', dims: [2], constant: [5, 100] }, { name: 'axes', dims: [2], constant: [1, 2] }] },
  {
    name: 'Slice, steps 2 and −1',
    op: 'Slice',
    operands: [x([4, 7]), { name: 'starts', dims: [2], constant: [3, 1] }, { name: 'ends', dims: [2], constant: [-100, 6] }, { name: 'axes', dims: [2], constant: [0, 1] }, { name: 'steps', dims: [2], constant: [-1, 2] }],
  },
  { name: 'Pad, constant', op: 'Pad', operands: [x([2, 3, 4]), { name: 'pads', dims: [6], constant: [0, 1, 2, 0, 2, 1] }] },
  { name: 'Pad, negative (crop)', op: 'Pad', operands: [x([2, 5, 4]), { name: 'pads', dims: [6], constant: [0, -1, 1, 0, 2, -2] }] },
  { name: 'Gelu', op: 'Gelu', operands: [x([3, 8], { lo: -3, hi: 3 })], opset: 20 },
  { name: 'Gelu, tanh approximation', op: 'Gelu', operands: [x([3, 8], { lo: -3, hi: 3 })], attrs: { approximate: 'tanh' }, opset: 20 },
  { name: 'LayerNormalization, last axis', op: 'LayerNormalization', operands: [x([2, 3, 6]), w('scale', [6]), w('bias', [6])], opset: 17 },
  { name: 'LayerNormalization, axis 1', op: 'LayerNormalization', operands: [x([2, 3, 4]), w('scale', [3, 4]), w('bias', [4])], attrs: { axis: 1 }, opset: 17 },
  { name: 'ConvTranspose 2×2 stride 2', op: 'ConvTranspose', operands: [x([2, 3, 4, 4]), w('w', [3, 4, 2, 2]), w('b', [4])], attrs: { strides: [2, 2] }, eps: 0.1 },
  { name: 'ConvTranspose 3×3 stride 2, pads, output_padding', op: 'ConvTranspose', operands: [x([1, 2, 4, 5]), w('w', [2, 3, 3, 3])], attrs: { strides: [2, 2], pads: [1, 1, 1, 0], output_padding: [1, 1] } },
  { name: 'ConvTranspose group 2, dilation 2', op: 'ConvTranspose', operands: [x([2, 4, 3, 3]), w('w', [4, 1, 3, 3]), w('b', [2])], attrs: { group: 2, dilations: [2, 2] } },
  {
    name: 'Resize nearest ×2 (asymmetric, floor)',
    op: 'Resize',
    operands: [x([1, 2, 3, 4]), { name: 'roi', dims: [0], weight: true, frozen: true }, { name: 'scales', dims: [4], weight: true, frozen: true, lo: 1, hi: 1, fixed: [1, 1, 2, 2] }],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
  },
  {
    name: 'Resize nearest to sizes 5×7 (half_pixel)',
    op: 'Resize',
    operands: [x([1, 2, 3, 4]), { name: '', dims: [] }, { name: '', dims: [] }, { name: 'sizes', dims: [4], constant: [1, 2, 5, 7] }],
    attrs: { mode: 'nearest' },
  },
  { name: 'Sqrt', op: 'Sqrt', operands: [x([2, 5], { lo: 0.5, hi: 2 })] },
  { name: 'Exp', op: 'Exp', operands: [x([2, 5])] },
  { name: 'Log', op: 'Log', operands: [x([2, 5], { lo: 0.5, hi: 2 })] },
  { name: 'Neg', op: 'Neg', operands: [x([2, 5])] },
  { name: 'Reciprocal', op: 'Reciprocal', operands: [x([2, 5], { lo: 0.5, hi: 2 })] },
  { name: 'Erf', op: 'Erf', operands: [x([2, 5], { lo: -2, hi: 2 })] },
  { name: 'Pow, constant exponent', op: 'Pow', operands: [x([2, 5], { lo: 0.5, hi: 2 }), w('p', [], { frozen: true, lo: 2, hi: 2 })] },
  { name: 'Pow, trained exponent, broadcast', op: 'Pow', operands: [x([2, 5], { lo: 0.5, hi: 2 }), w('p', [5], { lo: 1, hi: 3 })] },
  {
    name: 'BatchNormalization (inference)',
    op: 'BatchNormalization',
    operands: [x([2, 3, 4, 4]), w('scale', [3]), w('bias', [3]), w('mean', [3], { frozen: true }), w('var', [3], { frozen: true, lo: 0.5, hi: 2 })],
  },
];

describe('backward rules against finite differences', () => {
  const results: string[] = [];
  for (const c of CASES)
    it(c.name, async () => {
      const errors = await check(c);
      results.push(`${c.name}: ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
      for (const [name, e] of Object.entries(errors)) expect(e, `${c.name}: d/d${name}`).toBeLessThan(1e-2);
    });
  it('reports', () => console.log(results.join('\n')));
});

describe('MaxPool ties', () => {
  it('a window whose maximum occurs twice shares its gradient evenly between the two', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 1, 2, 4] }],
      outputs: [{ name: 'y', dims: [1, 1, 1, 2] }],
      nodes: [{ opType: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } }],
    });
    const data = { x: { dtype: 'float32', dims: [1, 1, 2, 4], data: Float32Array.of(1, 1, 0, 2, 0, 0.5, 1, 0) } };
    const shapes = await measureShapes(model, data);
    const { model: training, gradients } = buildTrainingGraph(model, { trainable: ['x'], loss: 'mse', target: 't', shapes });
    const out = await runModel(training, { ...data, t: { dtype: 'float32', dims: [1, 1, 1, 2], data: Float32Array.of(0, 0) } });
    // y = [1, 2]; dy = 2y/2 = [1, 2]; the first window's 1 appears twice (x₀₀, x₀₁).
    expect(Array.from(out[gradients.get('x')!]!)).toEqual([0.5, 0.5, 0, 2, 0, 0, 0, 0]);
  });
});
