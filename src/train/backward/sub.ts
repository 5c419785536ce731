/** Sub (broadcasting): Y = A − B, dA = dY, dB = −dY, each summed over its broadcast axes. */
import { dy, type BackwardRule } from './rule.js';

export const sub: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const out = em.shape(node.output[0]!);
    const [a, c] = [node.input[0]!, node.input[1]!];
    return [
      b.wants[0] ? em.reduceTo(dy(b), out, em.shape(a)) : undefined,
      b.wants[1] ? em.reduceTo(em.op('Neg', [dy(b)]), out, em.shape(c)) : undefined,
    ];
  },
};
