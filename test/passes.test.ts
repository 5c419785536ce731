/**
 * The prepare passes, each checked by running the model before and after in onnxruntime: the
 * outputs must agree to float rounding, and the graph must have the expected shape.
 */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { sqnr } from '../src/analyze/metrics.js';
import { prepareModel } from '../src/passes/prepare.js';
import { floatTensor, int64Tensor } from '../src/onnx/tensor.js';
import { opsetVersion } from '../src/ir/model.js';
import { makeValueInfo } from '../src/ir/types.js';
import { DT } from '../src/onnx/dtype.js';
import { buildModel, opCounts, randomSamples, randomWeight, runModel, type ModelSpec } from './helpers/build.js';

async function prepared(spec: ModelSpec, dims: number[], options: Parameters<typeof prepareModel>[1] = {}): Promise<{ after: ModelProto; report: ReturnType<typeof prepareModel>; agreement: number }> {
  const before = buildModel(spec);
  const after = clone(ModelProtoSchema, before);
  const report = prepareModel(after, options);
  const feeds = randomSamples(spec.inputs[0]!.name, dims, 1, 3)[0]!;
  const a = await runModel(before, feeds);
  const b = await runModel(after, feeds);
  return { after, report, agreement: Math.min(...spec.outputs.map((o) => sqnr(a[o.name]!, b[o.name]!))) };
}

const bn = (c: number) => [
  floatTensor('g', [c], Array.from({ length: c }, (_, i) => 0.5 + i * 0.3)),
  floatTensor('beta', [c], Array.from({ length: c }, (_, i) => 0.1 * i - 0.2)),
  floatTensor('mu', [c], Array.from({ length: c }, (_, i) => 0.05 * i)),
  floatTensor('var', [c], Array.from({ length: c }, (_, i) => 0.5 + 0.25 * i)),
];

describe('prepare passes', () => {
  it('folds BatchNormalization into ConvTranspose with groups and into Gemm (both transB)', async () => {
    const ct = await prepared(
      {
        inputs: [{ name: 'x', dims: [1, 4, 5, 5] }],
        outputs: [{ name: 'y' }],
        initializers: [randomWeight('w', [4, 3, 3, 3], 1), ...bn(6)],
        nodes: [
          { opType: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['c'], attrs: { group: 2 } },
          { opType: 'BatchNormalization', inputs: ['c', 'g', 'beta', 'mu', 'var'], outputs: ['y'] },
        ],
      },
      [1, 4, 5, 5],
    );
    expect(ct.report.batchNormsFolded).toBe(1);
    expect(ct.agreement).toBeGreaterThan(100);
    for (const transB of [0, 1]) {
      const g = await prepared(
        {
          inputs: [{ name: 'x', dims: [3, 5] }],
          outputs: [{ name: 'y' }],
          initializers: [randomWeight('w', transB ? [4, 5] : [5, 4], 2), randomWeight('b', [4], 3), ...bn(4)],
          nodes: [
            { opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { transB, alpha: 0.5 } },
            { opType: 'BatchNormalization', inputs: ['c', 'g', 'beta', 'mu', 'var'], outputs: ['y'] },
          ],
        },
        [3, 5],
      );
      expect(g.report.batchNormsFolded).toBe(1);
      expect(g.agreement).toBeGreaterThan(100);
    }
  });

  it('folds a scalar or per-channel Mul and an Add after a Conv into its weights and bias', async () => {
    const r = await prepared(
      {
        inputs: [{ name: 'x', dims: [1, 3, 6, 6] }],
        outputs: [{ name: 'y' }],
        initializers: [randomWeight('w', [4, 3, 3, 3], 4), floatTensor('a', [1], [0.7]), floatTensor('k', [1, 4, 1, 1], [1, 2, 3, -1]), floatTensor('b', [4, 1, 1], [0.1, 0.2, 0.3, 0.4])],
        nodes: [
          { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
          { opType: 'Mul', inputs: ['a', 'c'], outputs: ['m'] },
          { opType: 'Mul', inputs: ['m', 'k'], outputs: ['mk'] },
          { opType: 'Add', inputs: ['mk', 'b'], outputs: ['y'] },
        ],
      },
      [1, 3, 6, 6],
    );
    expect(r.report.affinesFolded).toBe(3);
    expect(opCounts(r.after)).toEqual({ Conv: 1 });
    expect(r.agreement).toBeGreaterThan(100);
  });

  it('folds a Mul before any Conv, and an Add before a Conv that pads nothing, into its weights and bias', async () => {
    const r = await prepared(
      {
        inputs: [{ name: 'x', dims: [1, 4, 6, 6] }],
        outputs: [{ name: 'y' }],
        initializers: [
          floatTensor('a', [1, 4, 1, 1], [0.5, 2, -1, 1.5]),
          floatTensor('b', [4, 1, 1], [0.1, -0.2, 0.3, 0.05]),
          randomWeight('dw', [4, 1, 3, 3], 5),
          floatTensor('a2', [], [0.75]),
          floatTensor('b2', [], [0.25]),
          randomWeight('pw', [6, 4, 1, 1], 6),
        ],
        nodes: [
          { opType: 'Mul', inputs: ['x', 'a'], outputs: ['m'] },
          { opType: 'Add', inputs: ['m', 'b'], outputs: ['s'] }, // becomes x + b/a: the depthwise conv pads
          { opType: 'Conv', inputs: ['s', 'dw'], outputs: ['d'], attrs: { group: 4, pads: [1, 1, 1, 1] } },
          { opType: 'Relu', inputs: ['d'], outputs: ['r'] },
          { opType: 'Mul', inputs: ['r', 'a2'], outputs: ['m2'] },
          { opType: 'Add', inputs: ['b2', 'm2'], outputs: ['s2'] },
          { opType: 'Conv', inputs: ['s2', 'pw'], outputs: ['y'] },
        ],
      },
      [1, 4, 6, 6],
    );
    expect(opCounts(r.after)).toEqual({ Add: 1, Conv: 2, Relu: 1 });
    expect(r.after.graph!.node.find((n) => n.output[0] === 'y')!.input[0]).toBe('r');
    expect(r.agreement).toBeGreaterThan(100);
  });

  it('fuses hand-written hard-swish into HardSwish, upgrading opset 13 to 14', async () => {
    const r = await prepared(
      {
        opset: 13,
        inputs: [{ name: 'x', dims: [2, 8] }],
        outputs: [{ name: 'y' }, { name: 'z' }],
        initializers: [floatTensor('three', [], [3]), floatTensor('zero', [], [0]), floatTensor('six', [], [6])],
        nodes: [
          { opType: 'Add', inputs: ['x', 'three'], outputs: ['a'] },
          { opType: 'Clip', inputs: ['a', 'zero', 'six'], outputs: ['c'] },
          { opType: 'Mul', inputs: ['x', 'c'], outputs: ['m'] },
          { opType: 'Div', inputs: ['m', 'six'], outputs: ['y'] },
          { opType: 'HardSigmoid', inputs: ['y'], outputs: ['h'], attrs: { alpha: 1 / 6, beta: 0.5 } },
          { opType: 'Mul', inputs: ['h', 'y'], outputs: ['z'] },
        ],
      },
      [2, 8],
    );
    expect(r.report.hardSwishFused).toBe(2);
    expect(opCounts(r.after)).toEqual({ HardSwish: 2 });
    expect(opsetVersion(r.after)).toBe(14);
    expect(r.agreement).toBeGreaterThan(100);
  });

  it('ConvTranspose with kernel = stride becomes a 1×1 Conv + DepthToSpace; bias, BatchNorm and Relu move before it; a second one takes the first DepthToSpace in', async () => {
    // PaddleOCR det's head: ConvTranspose → Add(bias) → BatchNorm → Relu → ConvTranspose → Add(bias) → Sigmoid.
    const head: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 6, 5, 7] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomWeight('w1', [6, 4, 2, 2], 21), floatTensor('b1', [1, 4, 1, 1], [0.1, -0.2, 0.3, 0]), ...bn(4),
        randomWeight('w2', [4, 1, 2, 2], 22), floatTensor('b2', [1], [0.25]),
      ],
      nodes: [
        { opType: 'ConvTranspose', inputs: ['x', 'w1'], outputs: ['t1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { opType: 'Add', inputs: ['t1', 'b1'], outputs: ['a1'] },
        { opType: 'BatchNormalization', inputs: ['a1', 'g', 'beta', 'mu', 'var'], outputs: ['n1'] },
        { opType: 'Relu', inputs: ['n1'], outputs: ['r1'] },
        { opType: 'ConvTranspose', inputs: ['r1', 'w2'], outputs: ['t2'], attrs: { strides: [2, 2] } },
        { opType: 'Add', inputs: ['t2', 'b2'], outputs: ['a2'] },
        { opType: 'Sigmoid', inputs: ['a2'], outputs: ['y'] },
      ],
    };
    const r = await prepared(head, [1, 6, 5, 7], { convTransposeAsConv: () => true });
    expect(r.report.convTransposesAsConv).toBe(2);
    expect(r.agreement).toBeGreaterThan(100);
    expect(opCounts(r.after)).toEqual({ Conv: 2, Relu: 1, Sigmoid: 1, DepthToSpace: 1 });
    const d2s = r.after.graph!.node.find((n) => n.opType === 'DepthToSpace')!;
    expect(d2s.output).toEqual(['y']);
    expect(d2s.attribute.find((a) => a.name === 'blocksize')!.i).toBe(4n);
    // Without the option, and for ConvTransposes that overlap or pad, nothing changes.
    expect((await prepared(head, [1, 6, 5, 7])).report.convTransposesAsConv).toBe(0);
    for (const attrs of [{ strides: [2, 2], kernel_shape: [3, 3] }, { strides: [2, 2], pads: [1, 1, 0, 0] }, { strides: [2, 2], group: 2 }]) {
      const k = attrs.kernel_shape?.[0] ?? 2;
      const other = await prepared(
        {
          inputs: [{ name: 'x', dims: [1, 6, 5, 7] }],
          outputs: [{ name: 'y' }],
          initializers: [randomWeight('w', [6, attrs.group ? 2 : 4, k, k], 23)],
          nodes: [{ opType: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'], attrs }],
        },
        [1, 6, 5, 7],
        { convTransposeAsConv: () => true },
      );
      expect(other.report.convTransposesAsConv).toBe(0);
      expect(opCounts(other.after)).toEqual({ ConvTranspose: 1 });
    }
  });

  it('removes Identity and Dropout but keeps graph output names; names unnamed nodes', async () => {
    const r = await prepared(
      {
        inputs: [{ name: 'x', dims: [2, 3] }],
        outputs: [{ name: 'y' }],
        nodes: [
          { opType: 'Relu', inputs: ['x'], outputs: ['r'], name: '' },
          { opType: 'Dropout', inputs: ['r'], outputs: ['d'], name: '' },
          { opType: 'Identity', inputs: ['d'], outputs: ['y'], name: '' },
        ],
      },
      [2, 3],
    );
    expect(r.report.identitiesRemoved).toBe(2);
    expect(r.after.graph!.node.map((n) => [n.opType, n.name, n.output[0]])).toEqual([['Relu', 'Relu_0', 'y']]);
    expect(r.agreement).toBe(Infinity);
  });

  it('folds Reshape (0 and −1 in the shape) and Transpose of constant weights into constants', async () => {
    const r = await prepared(
      {
        inputs: [{ name: 'x', dims: [2, 6] }],
        outputs: [{ name: 'y' }],
        initializers: [randomWeight('w', [3, 2, 4], 5), int64Tensor('shape', [2], [-1, 4]), randomWeight('v', [5, 4], 6)],
        nodes: [
          { opType: 'Reshape', inputs: ['w', 'shape'], outputs: ['w2'] },
          { opType: 'MatMul', inputs: ['x', 'w2'], outputs: ['m'] },
          { opType: 'Transpose', inputs: ['v'], outputs: ['vt'], attrs: { perm: [1, 0] } },
          { opType: 'MatMul', inputs: ['m', 'vt'], outputs: ['y'] },
        ],
      },
      [2, 6],
    );
    expect(r.report.constantReshapesFolded).toBe(2);
    expect(opCounts(r.after)).toEqual({ MatMul: 2 });
    const dims = (name: string) => r.after.graph!.initializer.find((t) => t.name === name)!.dims.map(Number);
    expect([dims('w2'), dims('vt')]).toEqual([[6, 4], [4, 5]]);
    expect(r.agreement).toBe(Infinity);
  });

  it('an IR 3 model whose initializers leave the inputs becomes IR 4, even when its opset stays', () => {
    const m = buildModel({
      opset: 7,
      irVersion: 3,
      inputs: [{ name: 'x', dims: [2, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 3], 1)],
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    m.graph!.input.push(makeValueInfo('w', { dtype: DT.FLOAT, shape: [4, 3] }));
    const report = prepareModel(m, { minOpset: 1, rewrite: false });
    expect(report.initializerInputsDropped).toBe(1);
    expect([opsetVersion(m), Number(m.irVersion)]).toEqual([7, 4]);
  });
});
