/**
 * Softmax: dX = Y ⊙ (dY − Σ(dY ⊙ Y)) with the sum over the softmax axis (opset ≥ 13), or over every axis
 * from `axis` on (opset < 13, where Softmax works on the input flattened to 2-D there).
 */
import { attrInt } from '../../ir/node.js';
import { axisOf, range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const softmax: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const y = node.output[0]!;
    const rank = em.shape(y).length;
    const axis = axisOf(attrInt(node, 'axis', em.opset >= 13 ? -1 : 1), rank);
    const axes = em.opset >= 13 ? [axis] : range(axis, rank);
    const dot = em.reduceSum(em.op('Mul', [dy(b), y]), axes, 1);
    return [em.op('Mul', [y, em.op('Sub', [dy(b), dot])])];
  },
};
