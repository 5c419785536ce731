/**
 * Conv: Y = conv(X, W) + B with strides s, pads p, dilations d and `group` g; X [N, C, …], W [M, C/g, …k], Y [N, M, …O].
 * - dX = ConvTranspose(dY, W) with the same s, p, d, g (the adjoint of Conv; W's layout [M, C/g, k] is
 *   already ConvTranspose's [C_in, C_out/g, k]) and output_padding restoring X's size.
 * - dW[m, c, κ] = Σ_n Σ_o dY[n, m, o]·Xpad[n, G(m)·C/g + c, o·s + κ·d]: a Conv whose batch is c, whose
 *   channels are (group, n) — X reshaped [N, g, C/g, …] and transposed to [C/g, g·N, …] — and whose kernel
 *   is dY transposed to [M, N, …O], run with group g, stride d, dilation s and the forward pads; its
 *   output [C/g, M, …k'] (k' ≥ k) is cropped to k and transposed to [M, C/g, …k]. For g = 1 this is the
 *   familiar "Conv of Xᵀ with dYᵀ". Depthwise (g = C = M) is the same formula with C/g = 1.
 * - dB = ReduceSum(dY) over every axis but the channel axis.
 */
import { attrInt } from '../../ir/node.js';
import { range, type Emitter } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';
import { windowOf } from './window.js';

export const conv: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [x, w] = [node.input[0]!, node.input[1]!];
    const [xs, ws, ys] = [em.shape(x), em.shape(w), em.shape(node.output[0]!)];
    const r = xs.length - 2;
    const g = attrInt(node, 'group', 1);
    const win = windowOf(node, xs.slice(2), ws.slice(2), ys.slice(2));
    const spatial = range(2, 2 + r);
    const out: (string | undefined)[] = [];
    if (b.wants[0])
      out[0] = em.op('ConvTranspose', [dy(b), w], {
        strides: win.strides,
        dilations: win.dilations,
        pads: win.pads,
        output_padding: win.outputPadding,
        group: g,
      });
    if (b.wants[1]) out[1] = weightGradient(em, { input: x, inputShape: xs, grad: dy(b), gradShape: ys, kernel: ws.slice(2), group: g, ...win });
    if (b.wants[2] && node.input[2]) out[2] = em.reduceSum(dy(b), [0, ...spatial], 0);
    return out;
  },
};

export interface WeightGradient {
  /** The layer's input (X for Conv) and the gradient of its output (dY), with their shapes. */
  input: string;
  inputShape: number[];
  grad: string;
  gradShape: number[];
  kernel: number[];
  group: number;
  strides: number[];
  dilations: number[];
  pads: number[];
}

/**
 * dW[m, c, κ] = Σ_n Σ_o grad[n, m, o]·inputPadded[n, G(m)·C/g + c, o·s + κ·d], as [M, C/g, …k]: one Conv
 * of the input (batch c, channels (group, n)) with the gradient transposed to [M, N, …O] as its kernel,
 * group g, stride d, dilation s, then cropped to k and transposed. ConvTranspose's weight gradient is the
 * same correlation with the roles of input and gradient exchanged.
 */
export function weightGradient(em: Emitter, w: WeightGradient): string {
  const [xs, ys, g] = [w.inputShape, w.gradShape, w.group];
  const r = xs.length - 2;
  const spatial = range(2, 2 + r);
  const [n, c] = [xs[0]!, xs[1]!];
  const xg =
    g === 1
      ? em.op('Transpose', [w.input], { perm: [1, 0, ...spatial] })
      : em.op('Reshape', [
          em.op('Transpose', [em.op('Reshape', [w.input, em.ints([n, g, c / g, ...xs.slice(2)])])], { perm: [2, 1, 0, ...range(3, 3 + r)] }),
          em.ints([c / g, g * n, ...xs.slice(2)]),
        ]);
  const kernel = em.op('Transpose', [w.grad], { perm: [1, 0, ...spatial] });
  let dw = em.op('Conv', [xg, kernel], { strides: w.dilations, dilations: w.strides, pads: w.pads, group: g });
  const full = xs.slice(2).map((size, i) => Math.floor((size + w.pads[i]! + w.pads[i + r]! - (ys[i + 2]! - 1) * w.strides[i]! - 1) / w.dilations[i]!) + 1);
  if (full.some((k, i) => k !== w.kernel[i]))
    dw = em.op('Slice', [dw, em.ints(new Array<number>(r).fill(0)), em.ints(w.kernel), em.ints(spatial)]);
  return em.op('Transpose', [dw], { perm: [1, 0, ...spatial] });
}

