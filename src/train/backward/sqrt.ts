/** Sqrt: Y = √X: dX = dY/(2Y). */
import { dy, type BackwardRule } from './rule.js';

export const sqrt: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Div', [dy(b), em.op('Mul', [node.output[0]!, em.scalar(2)])])];
  },
};
