/** Log: Y = ln X: dX = dY/X. */
import { dy, type BackwardRule } from './rule.js';

export const log: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Div', [dy(b), node.input[0]!])];
  },
};
