/** Pow (broadcasting): Y = A^B, dA = dY·B·A^(B−1) and dB = dY·Y·ln A (A > 0 where B is trained), each summed over its broadcast axes. */
import { dy, type BackwardRule } from './rule.js';

export const pow: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [a, p, y] = [node.input[0]!, node.input[1]!, node.output[0]!];
    const out = em.shape(y);
    return [
      b.wants[0] ? em.reduceTo(em.op('Mul', [dy(b), em.op('Mul', [p, em.op('Pow', [a, em.op('Sub', [p, em.scalar(1)])])])]), out, em.shape(a)) : undefined,
      b.wants[1] ? em.reduceTo(em.op('Mul', [dy(b), em.op('Mul', [y, em.op('Log', [a])])]), out, em.shape(p)) : undefined,
    ];
  },
};
