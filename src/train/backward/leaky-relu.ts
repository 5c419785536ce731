/** LeakyRelu(α, default 0.01): dX = dY where X > 0, else α·dY. */
import { attrFloat } from '../../ir/node.js';
import { dy, type BackwardRule } from './rule.js';

export const leakyRelu: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const alpha = attrFloat(node, 'alpha', 0.01);
    const positive = em.op('Greater', [node.input[0]!, em.scalar(0)]);
    return [em.op('Where', [positive, dy(b), em.op('Mul', [dy(b), em.scalar(alpha)])])];
  },
};
