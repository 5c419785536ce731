/** Div (broadcasting): Y = A/B, dA = dY/B, dB = −dY·A/B² = −dY·Y/B, each summed over its broadcast axes. */
import { dy, type BackwardRule } from './rule.js';

export const div: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const out = em.shape(node.output[0]!);
    const [a, c, y] = [node.input[0]!, node.input[1]!, node.output[0]!];
    const dyOverB = em.op('Div', [dy(b), c]);
    return [
      b.wants[0] ? em.reduceTo(dyOverB, out, em.shape(a)) : undefined,
      b.wants[1] ? em.reduceTo(em.op('Neg', [em.op('Mul', [dyOverB, y])]), out, em.shape(c)) : undefined,
    ];
  },
};
