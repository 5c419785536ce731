/** Reshape, Flatten, Squeeze and Unsqueeze move values without arithmetic: dX = Reshape(dY, shape(X)). Their shape or axes input has no gradient. */
import { dy, type BackwardRule } from './rule.js';

export const reshape: BackwardRule = {
  grad: (b) => [b.em.op('Reshape', [dy(b), b.em.ints(b.em.shape(b.node.input[0]!))])],
};
