/**
 * Clip(X, min, max): dX = dY where min ≤ X ≤ max, else 0 (PyTorch's clamp_backward keeps the bounds
 * inside). min and max (inputs since opset 11) get no gradient.
 */
import { dy, type BackwardRule } from './rule.js';

export const clip: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const x = node.input[0]!;
    let inside: string | undefined;
    const [lo, hi] = [node.input[1], node.input[2]];
    if (lo) inside = em.op('GreaterOrEqual', [x, lo]);
    if (hi) {
      const below = em.op('LessOrEqual', [x, hi]);
      inside = inside ? em.op('And', [inside, below]) : below;
    }
    return [inside ? em.op('Where', [inside, dy(b), em.scalar(0)]) : dy(b)];
  },
};
