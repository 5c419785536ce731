/** Concat along `axis`: dY split back along the same axis into the inputs' sizes. */
import { attrInt } from '../../ir/node.js';
import { axisOf } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const concat: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const shapes = node.input.map((x) => em.shape(x));
    const axis = axisOf(attrInt(node, 'axis', 0), shapes[0]!.length);
    const parts = em.multi('Split', [dy(b), em.ints(shapes.map((s) => s[axis]!))], node.input.length, { axis });
    return parts.map((p, i) => (b.wants[i] ? p : undefined));
  },
};
