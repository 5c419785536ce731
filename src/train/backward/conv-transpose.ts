/**
 * ConvTranspose: Y = convT(X, W) + B, X [N, C, …], W [C, M/g, …k], Y [N, M, …], the adjoint of a Conv:
 * Y[o] receives X[i]·W[κ] where o = i·s + κ·d − p_begin. So
 * - dX = Conv(dY, W) with the same strides, dilations and group (W's layout is already Conv's [out, in/g, k])
 *   and pads [p_begin, max(0, p_end − output_padding)];
 * - dW = the Conv weight-gradient correlation with input and gradient exchanged (weightGradient: input dY,
 *   gradient X), which comes out as [C, M/g, …k], W's layout;
 * - dB = ReduceSum(dY) over every axis but the channels.
 * Explicit pads only (auto_pad NOTSET, no output_shape).
 */
import { attrInt, attrInts, attrString, describeNode, getAttr } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { range } from '../emit.js';
import { weightGradient } from './conv.js';
import { dy, type BackwardRule } from './rule.js';

export const convTranspose: BackwardRule = {
  prepare: (node) => {
    if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET' || getAttr(node, 'output_shape'))
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: ConvTranspose with auto_pad or output_shape (give explicit pads).`);
  },
  grad: (b) => {
    const { node, em } = b;
    const [x, w] = [node.input[0]!, node.input[1]!];
    const [xs, ws, ys] = [em.shape(x), em.shape(w), em.shape(node.output[0]!)];
    const r = xs.length - 2;
    const spatial = range(2, 2 + r);
    const group = attrInt(node, 'group', 1);
    const strides = attrInts(node, 'strides') ?? new Array<number>(r).fill(1);
    const dilations = attrInts(node, 'dilations') ?? new Array<number>(r).fill(1);
    const given = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
    const extra = attrInts(node, 'output_padding') ?? new Array<number>(r).fill(0);
    const pads = [...given.slice(0, r), ...range(0, r).map((i) => Math.max(0, given[i + r]! - extra[i]!))];
    const out: (string | undefined)[] = [];
    if (b.wants[0]) out[0] = em.op('Conv', [dy(b), w], { strides, dilations, pads, group });
    if (b.wants[1]) out[1] = weightGradient(em, { input: dy(b), inputShape: ys, grad: x, gradShape: xs, kernel: ws.slice(2), group, strides, dilations, pads });
    if (b.wants[2] && node.input[2]) out[2] = em.reduceSum(dy(b), [0, ...spatial], 0);
    return out;
  },
};
