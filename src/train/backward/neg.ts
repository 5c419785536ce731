/** Neg: Y = −X, dX = −dY. */
import { dy, type BackwardRule } from './rule.js';

export const neg: BackwardRule = {
  grad: (b) => [b.em.op('Neg', [dy(b)])],
};
