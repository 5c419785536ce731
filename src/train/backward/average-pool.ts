/**
 * AveragePool: each output is a window's sum over its divisor (k = Πkernel, or with count_include_pad 0
 * the number of window cells inside X). The adjoint spreads dY/divisor back over each window:
 * dX = ConvTranspose(dY / divisor, ones[C, 1, …kernel], group C) with the pool's strides and pads and the
 * output_padding that restores X's size. With count_include_pad 0 and pads, divisor/k is the pool of ones
 * counting pads (AveragePool of a ones tensor with count_include_pad 1), which onnxruntime folds to a constant.
 */
import { attrInt, attrInts, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { numel } from '../../onnx/tensor.js';
import { dy, type BackwardRule } from './rule.js';
import { windowOf } from './window.js';

export const averagePool: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [xs, ys] = [em.shape(node.input[0]!), em.shape(node.output[0]!)];
    const kernel = attrInts(node, 'kernel_shape')!;
    if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1))
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: AveragePool with dilations.`);
    const win = windowOf(node, xs.slice(2), kernel, ys.slice(2));
    const k = numel(kernel);
    let g = dy(b);
    if (attrInt(node, 'count_include_pad', 0) === 0 && win.pads.some((p) => p > 0)) {
      const covered = em.op('AveragePool', [em.filled(xs, 1)], { kernel_shape: kernel, strides: win.strides, pads: win.pads, count_include_pad: 1 });
      g = em.op('Div', [g, covered]);
    }
    const c = xs[1]!;
    const weights = em.floats([c, 1, ...kernel], new Float32Array(c * k).fill(1 / k));
    return [em.op('ConvTranspose', [g, weights], { strides: win.strides, pads: win.pads, output_padding: win.outputPadding, group: c })];
  },
};
