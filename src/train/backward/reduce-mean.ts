/**
 * ReduceMean over `axes` (an attribute before opset 18, a constant input from 18): every input cell
 * gets its mean's gradient over the number of cells averaged: dX = Expand(Reshape(dY, kept shape), shape(X)) / n.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { numel } from '../../onnx/tensor.js';
import { axisOf, range, type Emitter } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const reduceMean: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const axes = reducedAxes(node, em, xs.length);
    const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
    const spread = em.op('Expand', [em.op('Reshape', [dy(b), em.ints(kept)]), em.ints(xs)]);
    return [em.op('Mul', [spread, em.scalar(1 / numel(axes.map((a) => xs[a]!)))])];
  },
};

function reducedAxes(node: NodeProto, em: Emitter, rank: number): number[] {
  let axes = attrInts(node, 'axes');
  if (node.input[1]) {
    axes = em.constantInts(node.input[1]);
    if (!axes) fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: its axes input '${node.input[1]}' is not a constant.`);
  }
  if (!axes || axes.length === 0) return attrInt(node, 'noop_with_empty_axes', 0) ? [] : range(0, rank);
  return axes.map((a) => axisOf(a, rank));
}
