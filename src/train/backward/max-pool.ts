/**
 * MaxPool: each output is one input cell, named by the op's own Indices output (flat indices into X,
 * which prepare() exposes on the forward node). dX = ScatterElements of dY into zeros of X's flattened
 * size at those indices, adding where windows overlap (reduction "add": training graphs run at opset ≥ 16),
 * reshaped to X.
 */
import { numel } from '../../onnx/tensor.js';
import { dy, type BackwardRule } from './rule.js';

export const maxPool: BackwardRule = {
  prepare: (node, em) => {
    if (!node.output[1]) node.output[1] = em.fresh(`${node.output[0]}/indices`);
  },
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const flat = em.ints([-1]);
    const scattered = em.op('ScatterElements', [em.filled([numel(xs)], 0), em.op('Reshape', [node.output[1]!, flat]), em.op('Reshape', [dy(b), flat])], {
      axis: 0,
      reduction: 'add',
    });
    return [em.op('Reshape', [scattered, em.ints(xs)])];
  },
};
