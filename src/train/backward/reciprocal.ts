/** Reciprocal: Y = 1/X: dX = −dY·Y². */
import { dy, type BackwardRule } from './rule.js';

export const reciprocal: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Neg', [em.op('Mul', [dy(b), em.op('Mul', [node.output[0]!, node.output[0]!])])])];
  },
};
