/**
 * Slice (starts, ends, axes, steps as constant inputs, opset ≥ 10): the gradient goes back to the cells
 * the slice read, zeros elsewhere. With unit steps that is Pad(dY) by each axis's start and remainder;
 * with other steps, dY is scattered at the flat indices of those cells, found by slicing an index tensor
 * (Range over X's size, reshaped to X) with the very same Slice — a constant onnxruntime folds.
 */
import { describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { numel } from '../../onnx/tensor.js';
import { axisOf, range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const slice: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    const constant = (k: number) => (node.input[k] ? (em.constantInts(node.input[k]!) ?? fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: its input '${node.input[k]}' is not a constant.`)) : undefined);
    const [starts, ends] = [constant(1)!, constant(2)!];
    const axes = (constant(3) ?? range(0, starts.length)).map((a) => axisOf(a, xs.length));
    const steps = constant(4) ?? starts.map(() => 1);
    if (steps.every((s) => s === 1)) {
      const pads = new Array<number>(2 * xs.length).fill(0);
      axes.forEach((a, i) => {
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + xs[a]! : v, 0), xs[a]!);
        const [from, to] = [clamp(starts[i]!), clamp(ends[i]!)];
        pads[a] = from;
        pads[a + xs.length] = xs[a]! - Math.max(to, from);
      });
      return [em.op('Pad', [dy(b), em.ints(pads)])];
    }
    const n = numel(xs);
    const index = em.op('Reshape', [em.op('Range', [em.int(0), em.int(n), em.int(1)]), em.ints(xs)]);
    const picked = em.op('Slice', [index, ...node.input.slice(1)]);
    const flat = em.ints([-1]);
    const scattered = em.op('ScatterElements', [em.filled([n], 0), em.op('Reshape', [picked, flat]), em.op('Reshape', [dy(b), flat])], { axis: 0 });
    return [em.op('Reshape', [scattered, em.ints(xs)])];
  },
};
