/**
 * Resize in nearest mode (any scales or sizes, any coordinate_transformation_mode and nearest_mode):
 * each output cell copies one input cell, so dX sums dY over the cells that copied it. Which cell each
 * copied is found by the op itself: the same Resize applied to X's flat indices (Range, as floats, exact
 * below 2²⁴ cells; onnxruntime folds it to a constant), then dX = ScatterElements of dY at those indices
 * with reduction "add". Linear and cubic modes are not differentiated.
 */
import { attrString, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { numel } from '../../onnx/tensor.js';
import { dy, type BackwardRule } from './rule.js';

export const resize: BackwardRule = {
  prepare: (node, em) => {
    if (attrString(node, 'mode', 'nearest') !== 'nearest')
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: Resize in '${attrString(node, 'mode', 'nearest')}' mode (only nearest is differentiated).`);
    if (numel(em.shape(node.input[0]!)) > 2 ** 24) fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: its input has more than 2²⁴ values.`);
  },
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const n = numel(xs);
    const cells = em.op('Cast', [em.op('Reshape', [em.op('Range', [em.scalar(0), em.scalar(n), em.scalar(1)]), em.ints(xs)])], { to: 1 });
    const picked = em.op('Cast', [em.like(node, [cells, ...node.input.slice(1)])], { to: 7 });
    const flat = em.ints([-1]);
    const scattered = em.op('ScatterElements', [em.filled([n], 0), em.op('Reshape', [picked, flat]), em.op('Reshape', [dy(b), flat])], { axis: 0, reduction: 'add' });
    return [em.op('Reshape', [scattered, em.ints(xs)])];
  },
};
