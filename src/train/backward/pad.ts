/**
 * Pad in constant mode (pads, and from opset 18 axes, as constant inputs): dX is dY with the padding cut
 * off again — Slice from each axis's begin pad — and, where a pad was negative (the forward cropped),
 * zeros put back with Pad. Reflect and edge modes are not differentiated.
 */
import { attrString, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { axisOf, range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const pad: BackwardRule = {
  prepare: (node) => {
    if (attrString(node, 'mode', 'constant') !== 'constant')
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: Pad in '${attrString(node, 'mode', 'constant')}' mode (only constant padding is differentiated).`);
  },
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const r = xs.length;
    const given = em.constantInts(node.input[1]!) ?? fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: its pads input is not a constant.`);
    const axes = node.input[3] ? (em.constantInts(node.input[3]) ?? fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: its axes input is not a constant.`)) : range(0, r);
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => {
      pads[axisOf(a, r)] = given[i]!;
      pads[axisOf(a, r) + r] = given[i + axes.length]!;
    });
    const starts = range(0, r).map((i) => Math.max(pads[i]!, 0));
    const kept = range(0, r).map((i) => xs[i]! - Math.max(-pads[i]!, 0) - Math.max(-pads[i + r]!, 0));
    let g = em.op('Slice', [dy(b), em.ints(starts), em.ints(starts.map((s, i) => s + kept[i]!)), em.ints(range(0, r))]);
    const refill = range(0, 2 * r).map((i) => Math.max(-pads[i]!, 0));
    if (refill.some((p) => p > 0)) g = em.op('Pad', [g, em.ints(refill)]);
    return [g];
  },
};
