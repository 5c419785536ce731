/**
 * buildTrainingGraph as a whole: gradients summed over several readers (a shared weight, a residual
 * Add) and through a chain of rules, softmax cross-entropy against finite differences (relative error
 * ≤ 1e-2, as in backward.test.ts), and refusals: an op without a backward rule is named with its node
 * before anything runs; a trainable the prediction does not depend on is refused.
 */
import { describe, expect, it } from 'vitest';
import { floatTensor, int64Tensor } from '../../src/onnx/tensor.js';
import { OnnxqError } from '../../src/errors.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { measureShapes } from '../../src/train/fake-quant.js';
import { buildModel, randomFloats, randomWeight } from '../helpers/build.js';
import { gradCheck } from './gradcheck.js';

const x = { x: { dtype: 'float32', dims: [2, 3, 5, 5], data: randomFloats(150, 5) } };

function residual() {
  return buildModel({
    inputs: [{ name: 'x', dims: [2, 3, 5, 5] }],
    outputs: [{ name: 'y', dims: [2, 4] }],
    nodes: [
      { opType: 'Conv', name: 'conv1', inputs: ['x', 'w', 'b'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Tanh', inputs: ['c1'], outputs: ['t1'] },
      { opType: 'Conv', name: 'conv2', inputs: ['t1', 'w'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } }, // the same weight again
      { opType: 'Add', inputs: ['c2', 't1'], outputs: ['r'] }, // t1 read twice
      { opType: 'Sigmoid', inputs: ['r'], outputs: ['s'] },
      { opType: 'Mul', inputs: ['s', 's'], outputs: ['s2'] }, // one value on both inputs
      { opType: 'AveragePool', inputs: ['s2'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { opType: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc', inputs: ['f', 'w2', 'b2'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    initializers: [randomWeight('w', [3, 3, 3, 3], 1, 0.4), randomWeight('b', [3], 2), randomWeight('w2', [4, 12], 3), randomWeight('b2', [4], 4)],
  });
}

describe('training graphs', () => {
  it('sums gradients over several readers (shared weight, residual, x·x) — finite differences', async () => {
    const errors = await gradCheck(residual(), x, ['x', 'w', 'b', 'w2', 'b2']);
    console.log('residual net:', JSON.stringify(errors));
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-2);
  });

  it('softmax cross-entropy with int64 labels — finite differences', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [6, 5] }],
      outputs: [{ name: 'y', dims: [6, 4] }],
      nodes: [{ opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'] }],
      initializers: [randomWeight('w', [5, 4], 8), randomWeight('b', [4], 9)],
    });
    const errors = await gradCheck(model, { x: { dtype: 'float32', dims: [6, 5], data: randomFloats(30, 10) } }, ['x', 'w', 'b'], { loss: 'cross-entropy' });
    console.log('cross-entropy:', JSON.stringify(errors));
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-2);
  });

  it('passes by shape computations (Shape → Reshape, as torch exports write a flatten)', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 2] }],
      outputs: [{ name: 'y', dims: [2, 6] }],
      nodes: [
        { opType: 'Mul', inputs: ['x', 'w'], outputs: ['m'] },
        { opType: 'Shape', inputs: ['m'], outputs: ['s'] },
        { opType: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
        { opType: 'Unsqueeze', inputs: ['n', 'zero1'], outputs: ['n1'] },
        { opType: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: { axis: 0 } },
        { opType: 'Reshape', inputs: ['m', 'shape'], outputs: ['r'] },
        { opType: 'Tanh', inputs: ['r'], outputs: ['y'] },
      ],
      initializers: [randomWeight('w', [3, 1], 12), int64Tensor('zero', [], [0]), int64Tensor('zero1', [1], [0]), int64Tensor('minus1', [1], [-1])],
    });
    const errors = await gradCheck(model, { x: { dtype: 'float32', dims: [2, 3, 2], data: randomFloats(12, 13) } }, ['x', 'w']);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-2);
  });

  it('cross-entropy on a classifier that ends in Softmax trains its logits', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [6, 5] }],
      outputs: [{ name: 'p', dims: [6, 4] }],
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'] },
        { opType: 'Softmax', inputs: ['y'], outputs: ['p'], attrs: { axis: 1 } },
      ],
      initializers: [randomWeight('w', [5, 4], 8), randomWeight('b', [4], 9)],
    });
    const x = { x: { dtype: 'float32', dims: [6, 5], data: randomFloats(30, 10) } };
    const { model: training } = buildTrainingGraph(model, { trainable: ['w'], loss: 'cross-entropy', target: 't', shapes: await measureShapes(model, x) });
    expect(training.graph!.node.find((n) => n.opType === 'SoftmaxCrossEntropyLoss')!.input[0]).toBe('y');
    const errors = await gradCheck(model, x, ['x', 'w', 'b'], { loss: 'cross-entropy' });
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-2);
  });

  it('trainables become inputs; the outputs are the loss and grad_<name>', async () => {
    const model = residual();
    const { model: training, gradients, loss } = buildTrainingGraph(model, { trainable: ['w', 'w2'], loss: 'mse', target: 'target', shapes: await measureShapes(model, x) });
    const g = training.graph!;
    expect(g.input.map((v) => v.name)).toEqual(['x', 'target', 'w', 'w2']);
    expect(g.output.map((v) => v.name)).toEqual([loss, 'grad_w', 'grad_w2']);
    expect([...gradients]).toEqual([['w', 'grad_w'], ['w2', 'grad_w2']]);
    expect(g.initializer.some((t) => t.name === 'w' || t.name === 'w2')).toBe(false);
    expect(g.initializer.some((t) => t.name === 'b')).toBe(true);
  });

  it('refuses an op without a backward rule, naming op and node, before anything runs', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [2, 3] }],
      outputs: [{ name: 'y', dims: [2, 3] }, { name: 'k', dims: [2], dtype: 7 }],
      nodes: [
        { opType: 'Mul', name: 'scale', inputs: ['x', 'w'], outputs: ['m'] },
        { opType: 'Sin', name: 'the_sin', inputs: ['m'], outputs: ['y'] },
        { opType: 'ArgMax', name: 'pick', inputs: ['m'], outputs: ['k'], attrs: { axis: 1, keepdims: 0 } }, // off the path: no rule needed
      ],
      initializers: [floatTensor('w', [3], [1, 2, 3])],
    });
    const shapes = await measureShapes(model, { x: { dtype: 'float32', dims: [2, 3], data: new Float32Array(6) } });
    const build = () => buildTrainingGraph(model, { trainable: ['w'], loss: 'mse', target: 't', shapes });
    expect(build).toThrow(OnnxqError);
    expect(build).toThrow(/no backward rule for 'the_sin' \(Sin\)/);
    try {
      build();
    } catch (e) {
      expect((e as OnnxqError).code).toBe('UNSUPPORTED_OP');
    }
  });

  it('refuses a trainable the prediction does not depend on, and one that is not a float tensor', async () => {
    const model = residual();
    const shapes = await measureShapes(model, x);
    expect(() => buildTrainingGraph(model, { trainable: ['nope'], loss: 'mse', target: 't', shapes })).toThrow(/cannot train 'nope'/);
    expect(() => buildTrainingGraph(model, { trainable: ['w'], loss: 'cross-entropy', target: 'x', shapes })).toThrow(/reuse a name/);
  });
});
