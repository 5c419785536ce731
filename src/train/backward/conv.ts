/**
 * Conv: Y = conv(X, W) + B with strides s, pads p, dilations d and `group` g; X [N, C, …], W [M, C/g, …k], Y [N, M, …O].
 * - dX = ConvTranspose(dY, W) with the same s, p, d, g (the adjoint of Conv; W's layout [M, C/g, k] is
 *   already ConvTranspose's [C_in, C_out/g, k]) and output_padding restoring X's size; with unit strides,
 *   the equivalent Conv of dY with W flipped (inputGradient), which onnxruntime runs faster.
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
import { windowOf, type Window } from './window.js';

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
    if (b.wants[0]) out[0] = inputGradient(em, dy(b), w, xs, ws, g, win);
    if (b.wants[1]) {
      const wg = { input: x, inputShape: xs, grad: dy(b), gradShape: ys, kernel: ws.slice(2), group: g, ...win };
      out[1] =
        g === 1 && ws.slice(2).every((k) => k === 1) && win.strides.every((v) => v === 1) && win.pads.every((p) => p === 0)
          ? pointwiseWeightGradient(em, wg)
          : g === xs[1] && g === ws[0]
            ? depthwiseWeightGradient(em, wg)
            : weightGradient(em, wg);
    }
    if (b.wants[2] && node.input[2]) out[2] = em.reduceSum(dy(b), [0, ...spatial], 0);
    return out;
  },
};

/**
 * dX, the adjoint of the Conv. With unit strides it is itself a Conv, of dY with W flipped in space and
 * transposed within each group ([M, C/g, k] → [C, M/g, k]), dilations d and pads (k − 1)·d − p — the form
 * onnxruntime runs fastest (its ConvTranspose is several times slower, depthwise most of all); otherwise
 * ConvTranspose(dY, W) with the forward's strides, dilations, pads and group, and the output_padding
 * that restores X's size.
 */
function inputGradient(em: Emitter, dY: string, w: string, xs: number[], ws: number[], g: number, win: Window): string {
  const r = xs.length - 2;
  const kernel = ws.slice(2);
  const pads = win.pads.map((p, i) => (kernel[i % r]! - 1) * win.dilations[i % r]! - p);
  if (win.strides.some((s) => s !== 1) || pads.some((p) => p < 0))
    return em.op('ConvTranspose', [dY, w], { strides: win.strides, dilations: win.dilations, pads: win.pads, output_padding: win.outputPadding, group: g });
  const [m, cg] = [ws[0]!, ws[1]!];
  const spatial = range(2, 2 + r);
  let swapped = w; // [C, M/g, k]
  if (g === 1) swapped = em.op('Transpose', [w], { perm: [1, 0, ...spatial] });
  else if (m / g !== 1 || cg !== 1)
    swapped = em.op('Reshape', [em.op('Transpose', [em.op('Reshape', [w, em.ints([g, m / g, cg, ...kernel])])], { perm: [0, 2, 1, ...range(3, 3 + r)] }), em.ints([g * cg, m / g, ...kernel])]);
  const flipped = em.op('Slice', [swapped, em.ints(kernel.map(() => -1)), em.ints(kernel.map(() => -Number.MAX_SAFE_INTEGER)), em.ints(spatial), em.ints(kernel.map(() => -1))]);
  return em.op('Conv', [dY, flipped], { dilations: win.dilations, pads, group: g });
}

/**
 * The pointwise (1×1, unit stride, no pads, one group) weight gradient: dW[m, c] = Σ_n Σ_p dY[n, m, p]·X[n, c, p]
 * over the positions p, one batched MatMul of dY [N, M, P] by Xᵀ [N, P, C] summed over N — where the general
 * form would run a Conv whose kernel is the whole feature map.
 */
function pointwiseWeightGradient(em: Emitter, w: WeightGradient): string {
  const [xs, ys] = [w.inputShape, w.gradShape];
  const positions = xs.slice(2).reduce((a, b) => a * b, 1);
  const x = em.op('Transpose', [em.op('Reshape', [w.input, em.ints([xs[0]!, xs[1]!, positions])])], { perm: [0, 2, 1] });
  const product = em.op('MatMul', [em.op('Reshape', [w.grad, em.ints([ys[0]!, ys[1]!, positions])]), x]);
  return em.op('Reshape', [em.reduceSum(product, [0], 0), em.ints([ys[1]!, xs[1]!, ...w.kernel])]);
}

/**
 * The depthwise weight gradient (group = C = M): dW[c, 0, κ] = Σ_n Σ_o dY[n, c, o]·Xpad[n, c, o·s + κ·d],
 * for each kernel offset κ a strided Slice of the padded X times dY, summed — elementwise work equal to
 * the forward's, where the grouped-Conv form runs one tiny convolution per channel.
 */
function depthwiseWeightGradient(em: Emitter, w: WeightGradient): string {
  const [xs, ys] = [w.inputShape, w.gradShape];
  const r = xs.length - 2;
  const spatial = range(2, 2 + r);
  const padded = w.pads.some((p) => p > 0) ? em.op('Pad', [w.input, em.ints([0, 0, ...w.pads.slice(0, r), 0, 0, ...w.pads.slice(r)])]) : w.input;
  const offsets: number[][] = [[]];
  for (const k of w.kernel) offsets.splice(0, offsets.length, ...offsets.flatMap((o) => range(0, k).map((i) => [...o, i])));
  const parts = offsets.map((kappa) => {
    const starts = kappa.map((k, i) => k * w.dilations[i]!);
    const window = em.op('Slice', [padded, em.ints(starts), em.ints(starts.map((s, i) => s + (ys[i + 2]! - 1) * w.strides[i]! + 1)), em.ints(spatial), em.ints(w.strides)]);
    return em.reduceSum(em.op('Mul', [window, w.grad]), spatial, 1); // [N, C, 1, …]
  });
  const stacked = em.op('Concat', parts, { axis: 2 }); // [N, C, K, 1, …]
  return em.op('Reshape', [em.reduceSum(stacked, [0], 0), em.ints([xs[1]!, 1, ...w.kernel])]);
}

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

