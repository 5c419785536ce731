/**
 * FakeQuantize (onnxq's own training op, lowered to Div/Round/Add/Clip/Sub/Mul in the training graph):
 * x̂ = (clip(round(x/s) + z, qmin, qmax) − z)·s, with s broadcast against x (per tensor or per channel).
 * Gradients as PyTorch's fake_quantize_learnable_tensor_grad_kernel_cpu (QuantizedOpKernels.cpp) and
 * LSQ (Esser et al. 2020, "Learned Step Size Quantization", ICLR), with r = round(x/s) + z:
 * - dx = dx̂ where qmin ≤ r ≤ qmax, else 0 (the straight-through estimator);
 * - ds = g·Σ dx̂·((clip(r) − z) − x/s·inside), i.e. round(x/s) − x/s inside, qmin − z below, qmax − z above,
 *   summed to s's shape, with LSQ's gradient scale g = 1/√(N·qmax) (attribute grad_scale).
 * The zero point is not trained (it gets no gradient).
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloat, attrInt, makeNode } from '../../ir/node.js';
import type { Emitter } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const FAKE_QUANT_DOMAIN = 'ai.onnxq.train';
export const FAKE_QUANT_OP = 'FakeQuantize';

export function isFakeQuant(node: NodeProto): boolean {
  return node.opType === FAKE_QUANT_OP && node.domain === FAKE_QUANT_DOMAIN;
}

/** Emits the forward computation as standard ops, the last writing the node's own output. */
export function lowerFakeQuant(node: NodeProto, em: Emitter): void {
  const { q } = rounded(node, em);
  const [s, z] = [node.input[1]!, node.input[2]];
  const centred = z ? em.op('Sub', [q, z]) : q;
  em.nodes.push(makeNode({ opType: 'Mul', inputs: [centred, s], outputs: [node.output[0]!], name: em.fresh(`${node.name || 'fake_quant'}/mul`) }));
}

/** r = round(x/s) + z and q = clip(r, qmin, qmax), emitted. */
function rounded(node: NodeProto, em: Emitter): { u: string; r: string; q: string } {
  const [x, s, z] = [node.input[0]!, node.input[1]!, node.input[2]];
  const u = em.op('Div', [x, s]);
  const rounded = em.op('Round', [u]);
  const r = z ? em.op('Add', [rounded, z]) : rounded;
  const q = em.op('Clip', [r, em.scalar(attrInt(node, 'qmin', -128)), em.scalar(attrInt(node, 'qmax', 127))]);
  return { u, r, q };
}

export const fakeQuantize: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [x, s, z] = [node.input[0]!, node.input[1]!, node.input[2]];
    // Recomputed rather than shared with the lowered forward; onnxruntime's common-subexpression
    // elimination merges the two.
    const { u, r, q } = rounded(node, em);
    const inside = em.op('And', [
      em.op('GreaterOrEqual', [r, em.scalar(attrInt(node, 'qmin', -128))]),
      em.op('LessOrEqual', [r, em.scalar(attrInt(node, 'qmax', 127))]),
    ]);
    const zero = em.scalar(0);
    const out: (string | undefined)[] = [];
    if (b.wants[0]) out[0] = em.op('Where', [inside, dy(b), zero]);
    if (b.wants[1]) {
      const centred = z ? em.op('Sub', [q, z]) : q;
      const perCell = em.op('Mul', [dy(b), em.op('Sub', [centred, em.op('Where', [inside, u, zero])])]);
      const summed = em.reduceTo(perCell, em.shape(x), em.shape(s));
      out[1] = em.op('Mul', [summed, em.scalar(attrFloat(node, 'grad_scale', 1))]);
    }
    return out;
  },
};
