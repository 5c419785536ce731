/** Erf: Y = erf(X): dX = dY·(2/√π)·e^(−X²). */
import { dy, type BackwardRule } from './rule.js';

export const erf: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Mul', [dy(b), em.op('Mul', [em.op('Exp', [em.op('Neg', [em.op('Mul', [node.input[0]!, node.input[0]!])])]), em.scalar(2 / Math.sqrt(Math.PI))])])];
  },
};
