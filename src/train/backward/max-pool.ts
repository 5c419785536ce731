/**
 * MaxPool: each output is the maximum of one window of X, so its gradient goes to the cell that holds it.
 * - Windows that tile X exactly (kernel = strides, no pads, no dilation, X's size a multiple): X is viewed
 *   mask = (X == up(Y)), up = nearest upsampling by the kernel (Resize), and each window's dY is shared
 *   among the cells equal to its maximum: dX = mask·up(dY/count), count = Σ_window mask (an AveragePool
 *   of the mask times the window's size). With one maximum per
 *   window (any float data but ties) this is the exact gradient; on a tie it splits dY evenly (a valid
 *   subgradient; PyTorch gives all of it to the first). Elementwise ops only: much faster in onnxruntime
 *   than MaxPool's Indices output, which forces its slow kernel.
 * - Otherwise (overlapping or padded windows): by the op's own Indices output (flat indices into X, which
 *   prepare() exposes on the forward node), dX = ScatterElements of dY into zeros of X's flattened size,
 *   adding where windows overlap (reduction "add": training graphs run at opset ≥ 16), reshaped to X.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInts, attrString } from '../../ir/node.js';
import { numel } from '../../onnx/tensor.js';
import type { Emitter } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

function tiles(node: NodeProto, em: Emitter): boolean {
  const [xs, ys] = [em.shape(node.input[0]!), em.shape(node.output[0]!)];
  const kernel = attrInts(node, 'kernel_shape')!;
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  return (
    kernel.every((k, i) => k === strides[i] && xs[i + 2] === ys[i + 2]! * k) &&
    (attrInts(node, 'pads') ?? []).every((p) => p === 0) &&
    (attrInts(node, 'dilations') ?? []).every((d) => d === 1) &&
    ['NOTSET', 'VALID'].includes(attrString(node, 'auto_pad', 'NOTSET'))
  );
}

export const maxPool: BackwardRule = {
  prepare: (node, em) => {
    if (!tiles(node, em) && !node.output[1]) node.output[1] = em.fresh(`${node.output[0]}/indices`);
  },
  grad: (b) => {
    const { node, em } = b;
    const xs = em.shape(node.input[0]!);
    if (tiles(node, em)) {
      const r = xs.length - 2;
      const kernel = attrInts(node, 'kernel_shape')!;
      // Nearest upsampling by the integer kernel: output cell i reads input cell ⌊i/k⌋.
      const scales = em.floats([r + 2], Float32Array.of(1, 1, ...kernel));
      const up = (t: string) => em.op('Resize', [t, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      const mask = em.op('Cast', [em.op('Equal', [node.input[0]!, up(node.output[0]!)])], { to: 1 });
      const average = em.op('AveragePool', [mask], { kernel_shape: kernel, strides: kernel });
      const count = em.op('Mul', [average, em.scalar(numel(kernel))]);
      return [em.op('Mul', [mask, up(em.op('Div', [dy(b), count]))])];
    }
    const flat = em.ints([-1]);
    const scattered = em.op('ScatterElements', [em.filled([numel(xs)], 0), em.op('Reshape', [node.output[1]!, flat]), em.op('Reshape', [dy(b), flat])], {
      axis: 0,
      reduction: 'add',
    });
    return [em.op('Reshape', [scattered, em.ints(xs)])];
  },
};
