/** Transpose by `perm` (default: reversed axes): dX = Transpose(dY, perm⁻¹). */
import { attrInts } from '../../ir/node.js';
import { dy, type BackwardRule } from './rule.js';

export const transpose: BackwardRule = {
  grad: (b) => {
    const rank = b.em.shape(b.node.input[0]!).length;
    const perm = attrInts(b.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [b.em.op('Transpose', [dy(b)], { perm: inverse })];
  },
};
