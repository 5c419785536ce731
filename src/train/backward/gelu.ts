/**
 * Gelu (opset 20). Exact form, Y = X·Φ(X): dX = dY·(Φ(X) + X·φ(X)), Φ(x) = ½(1 + erf(x/√2)),
 * φ(x) = e^(−x²/2)/√(2π). approximate="tanh" form, Y = ½X(1 + tanh(u)), u = √(2/π)(X + 0.044715X³):
 * dX = dY·(½(1 + t) + ½X(1 − t²)·√(2/π)(1 + 3·0.044715X²)), t = tanh(u) (Hendrycks & Gimpel 2016).
 */
import { attrString } from '../../ir/node.js';
import { dy, type BackwardRule } from './rule.js';

export const gelu: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const x = node.input[0]!;
    const mul = (p: string, q: string) => em.op('Mul', [p, q]);
    const add = (p: string, q: string) => em.op('Add', [p, q]);
    const c = (v: number) => em.scalar(v);
    const x2 = mul(x, x);
    if (attrString(node, 'approximate', 'none') === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const t = em.op('Tanh', [mul(mul(x, add(c(1), mul(x2, c(0.044715)))), c(k))]);
      const outer = mul(add(c(1), t), c(0.5));
      const inner = mul(mul(mul(x, em.op('Sub', [c(1), mul(t, t)])), c(0.5 * k)), add(c(1), mul(x2, c(3 * 0.044715))));
      return [mul(dy(b), add(outer, inner))];
    }
    const cdf = mul(add(c(1), em.op('Erf', [mul(x, c(Math.SQRT1_2))])), c(0.5));
    const pdf = mul(em.op('Exp', [mul(x2, c(-0.5))]), c(1 / Math.sqrt(2 * Math.PI)));
    return [mul(dy(b), add(cdf, mul(x, pdf)))];
  },
};
