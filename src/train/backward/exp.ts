/** Exp: Y = eˣ: dX = dY·Y. */
import { dy, type BackwardRule } from './rule.js';

export const exp: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Mul', [dy(b), node.output[0]!])];
  },
};
