/** HardSigmoid: Y = max(0, min(1, αX + β)) (α 0.2, β 0.5 by default), dX = α·dY where 0 < Y < 1, else 0. */
import { attrFloat } from '../../ir/node.js';
import { dy, type BackwardRule } from './rule.js';

export const hardSigmoid: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const y = node.output[0]!;
    const inside = em.op('And', [em.op('Greater', [y, em.scalar(0)]), em.op('Less', [y, em.scalar(1)])]);
    return [em.op('Where', [inside, em.op('Mul', [dy(b), em.scalar(attrFloat(node, 'alpha', 0.2))]), em.scalar(0)])];
  },
};
