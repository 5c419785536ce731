/** Sigmoid: Y = σ(X), dX = dY·Y·(1 − Y). */
import { dy, type BackwardRule } from './rule.js';

export const sigmoid: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const y = node.output[0]!;
    return [em.op('Mul', [dy(b), em.op('Mul', [y, em.op('Sub', [em.scalar(1), y])])])];
  },
};
