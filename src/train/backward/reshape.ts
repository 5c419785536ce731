/** Reshape and Flatten move values without arithmetic: dX = Reshape(dY, shape(X)). The shape input has no gradient. */
import { dy, type BackwardRule } from './rule.js';

export const reshape: BackwardRule = {
  grad: (b) => [b.em.op('Reshape', [dy(b), b.em.ints(b.em.shape(b.node.input[0]!))])],
};
