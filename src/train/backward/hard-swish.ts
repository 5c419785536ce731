/** HardSwish: Y = X·max(0, min(1, X/6 + ½)); dX = dY·(2X + 3)/6 on (−3, 3), dY above 3, 0 below −3. */
import { dy, type BackwardRule } from './rule.js';

export const hardSwish: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const x = node.input[0]!;
    const slope = em.op('Add', [em.op('Mul', [x, em.scalar(1 / 3)]), em.scalar(0.5)]); // (2X + 3)/6
    const middle = em.op('Mul', [dy(b), slope]);
    const below = em.op('Where', [em.op('Less', [x, em.scalar(-3)]), em.scalar(0), middle]);
    return [em.op('Where', [em.op('Greater', [x, em.scalar(3)]), dy(b), below])];
  },
};
