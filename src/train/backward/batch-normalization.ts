/**
 * BatchNormalization in inference form (one output): Y = (X − mean)/√(var + ε)·scale + B, an affine map
 * per channel (axis 1). With inv = 1/√(var + ε) broadcast as [C, 1, …]:
 * dX = dY·scale·inv, dscale = Σ dY·(X − mean)·inv, dB = Σ dY (sums over every axis but 1).
 * mean and var are statistics, not trained: they get no gradient.
 */
import { attrFloat, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const batchNormalization: BackwardRule = {
  prepare: (node) => {
    if (node.output.filter(Boolean).length > 1)
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: BatchNormalization in training mode (running statistics as outputs); only its inference form is differentiated.`);
  },
  grad: (b) => {
    const { node, em } = b;
    const [x, scale, , mean, variance] = node.input as [string, string, string, string, string];
    const xs = em.shape(x);
    const perChannel = em.ints([xs[1]!, ...new Array<number>(xs.length - 2).fill(1)]);
    const inv = em.op('Reshape', [em.op('Reciprocal', [em.op('Sqrt', [em.op('Add', [variance, em.scalar(attrFloat(node, 'epsilon', 1e-5))])])]), perChannel]);
    const others = [0, ...range(2, xs.length)];
    const out: (string | undefined)[] = [];
    if (b.wants[0]) out[0] = em.op('Mul', [dy(b), em.op('Mul', [inv, em.op('Reshape', [scale, perChannel])])]);
    if (b.wants[1]) {
      const normalized = em.op('Mul', [em.op('Sub', [x, em.op('Reshape', [mean, perChannel])]), inv]);
      out[1] = em.reduceSum(em.op('Mul', [dy(b), normalized]), others, 0);
    }
    if (b.wants[2]) out[2] = em.reduceSum(dy(b), others, 0);
    return out;
  },
};
