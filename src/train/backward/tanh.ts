/** Tanh: dX = dY·(1 − Y²). */
import { dy, type BackwardRule } from './rule.js';

export const tanh: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const y = node.output[0]!;
    return [em.op('Mul', [dy(b), em.op('Sub', [em.scalar(1), em.op('Mul', [y, y])])])];
  },
};
