/** Mul (broadcasting): Y = A·B, dA = dY·B, dB = dY·A, each summed over its broadcast axes. */
import { dy, type BackwardRule } from './rule.js';

export const mul: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const out = em.shape(node.output[0]!);
    const [a, c] = [node.input[0]!, node.input[1]!];
    return [
      b.wants[0] ? em.reduceTo(em.op('Mul', [dy(b), c]), out, em.shape(a)) : undefined,
      b.wants[1] ? em.reduceTo(em.op('Mul', [dy(b), a]), out, em.shape(c)) : undefined,
    ];
  },
};
