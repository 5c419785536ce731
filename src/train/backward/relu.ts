/** Relu: dX = dY where X > 0, else 0. */
import { dy, type BackwardRule } from './rule.js';

export const relu: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Where', [em.op('Greater', [node.input[0]!, em.scalar(0)]), dy(b), em.scalar(0)])];
  },
};
