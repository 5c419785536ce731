/** Split along `axis`: dX = Concat of the outputs' gradients along that axis, zeros for outputs no gradient reaches. */
import { attrInt } from '../../ir/node.js';
import { axisOf } from '../emit.js';
import type { BackwardRule } from './rule.js';

export const split: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const axis = axisOf(attrInt(node, 'axis', 0), em.shape(node.input[0]!).length);
    const parts = node.output.map((o, i) => b.dY[i] ?? em.filled(em.shape(o), 0));
    return [em.op('Concat', parts, { axis })];
  },
};
