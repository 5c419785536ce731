/** Add (NumPy broadcasting): Y = A + B, dA = dY and dB = dY, each summed over the axes its input was broadcast along. */
import { dy, type BackwardRule } from './rule.js';

export const add: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const out = em.shape(node.output[0]!);
    return node.input.map((x, i) => (b.wants[i] ? em.reduceTo(dy(b), out, em.shape(x)) : undefined));
  },
};
