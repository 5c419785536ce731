/**
 * Relu: dX = dY where X > 0, else 0. The mask reads Y = Relu(X) (positive exactly where X is): with X
 * read by its Relu alone, onnxruntime still fuses a Conv → Relu pair of the forward pass.
 */
import { dy, type BackwardRule } from './rule.js';

export const relu: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    return [em.op('Where', [em.op('Greater', [node.output[0]!, em.scalar(0)]), dy(b), em.scalar(0)])];
  },
};
