/** GlobalAveragePool: Y[n, c] = mean over the spatial axes of X, so dX = Expand(dY, shape(X)) / (H·W·…). */
import { numel } from '../../onnx/tensor.js';
import { dy, type BackwardRule } from './rule.js';

export const globalAveragePool: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const expanded = em.op('Expand', [dy(b), em.ints(xs)]);
    return [em.op('Mul', [expanded, em.scalar(1 / numel(xs.slice(2)))])];
  },
};
