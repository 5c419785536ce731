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
import { range } from '../emit.js';
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
    if (b.wants[1]) {
      const [n, c] = [xs[0]!, xs[1]!];
      const xg =
        g === 1
          ? em.op('Transpose', [x], { perm: [1, 0, ...spatial] })
          : em.op('Reshape', [
              em.op('Transpose', [em.op('Reshape', [x, em.ints([n, g, c / g, ...xs.slice(2)])])], { perm: [2, 1, 0, ...range(3, 3 + r)] }),
              em.ints([c / g, g * n, ...xs.slice(2)]),
            ]);
      const kernel = em.op('Transpose', [dy(b)], { perm: [1, 0, ...spatial] });
      let dw = em.op('Conv', [xg, kernel], { strides: win.dilations, dilations: win.strides, pads: win.pads, group: g });
      const full = xs.slice(2).map((size, i) => Math.floor((size + win.pads[i]! + win.pads[i + r]! - (ys[i + 2]! - 1) * win.strides[i]! - 1) / win.dilations[i]!) + 1);
      if (full.some((k, i) => k !== ws[i + 2]))
        dw = em.op('Slice', [dw, em.ints(new Array<number>(r).fill(0)), em.ints(ws.slice(2)), em.ints(spatial)]);
      out[1] = em.op('Transpose', [dw], { perm: [1, 0, ...spatial] });
    }
    if (b.wants[2] && node.input[2]) out[2] = em.reduceSum(dy(b), [0, ...spatial], 0);
    return out;
  },
};
