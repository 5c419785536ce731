/**
 * Gemm: Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A, B' likewise. dA' = α·dY·B'ᵀ, dB' = α·A'ᵀ·dY, each
 * written as one Gemm with the transposes folded into its flags; dC = β·dY summed to C's shape.
 */
import { attrFloat, attrInt } from '../../ir/node.js';
import { dy, type BackwardRule } from './rule.js';

export const gemm: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [a, w, c] = [node.input[0]!, node.input[1]!, node.input[2]];
    const alpha = { f: attrFloat(node, 'alpha', 1) };
    const beta = attrFloat(node, 'beta', 1);
    const [ta, tb] = [attrInt(node, 'transA', 0), attrInt(node, 'transB', 0)];
    const g = dy(b);
    const out: (string | undefined)[] = [];
    if (b.wants[0])
      out[0] = ta ? em.op('Gemm', [w, g], { alpha, transA: tb, transB: 1 }) : em.op('Gemm', [g, w], { alpha, transB: 1 - tb });
    if (b.wants[1])
      out[1] = tb ? em.op('Gemm', [g, a], { alpha, transA: 1, transB: ta }) : em.op('Gemm', [a, g], { alpha, transA: 1 - ta });
    if (b.wants[2] && c) {
      const scaled = beta === 1 ? g : em.op('Mul', [g, em.scalar(beta)]);
      out[2] = em.reduceTo(scaled, em.shape(node.output[0]!), em.shape(c));
    }
    return out;
  },
};
