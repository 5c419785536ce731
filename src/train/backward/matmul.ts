/**
 * MatMul (NumPy semantics): Y = A·B, dA = dY·Bᵀ and dB = Aᵀ·dY (transposing the last two axes), each
 * summed over the batch axes its input was broadcast along. A 1-D A is treated as [1, K] and a 1-D B
 * as [K, 1], the axis NumPy inserts and removes put back into dY first.
 */
import { range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const matmul: BackwardRule = {
  grad: (b) => {
    const { node, em } = b;
    const [a, w] = [node.input[0]!, node.input[1]!];
    const [as, ws] = [em.shape(a), em.shape(w)];
    const a2 = as.length === 1 ? [1, as[0]!] : as;
    const w2 = ws.length === 1 ? [ws[0]!, 1] : ws;
    const lead = (s: number[]) => s.slice(0, -2);
    const batch = broadcast(lead(a2), lead(w2));
    const y2 = [...batch, a2[a2.length - 2]!, w2[w2.length - 1]!];
    const g = em.op('Reshape', [dy(b), em.ints(y2)]);
    const aa = as.length === 1 ? em.op('Reshape', [a, em.ints(a2)]) : a;
    const ww = ws.length === 1 ? em.op('Reshape', [w, em.ints(w2)]) : w;
    const t = (x: string, rank: number) => em.op('Transpose', [x], { perm: [...range(0, rank - 2), rank - 1, rank - 2] });
    const back = (x: string, shape: number[]) => (shape.length === 1 ? em.op('Reshape', [x, em.ints(shape)]) : x);
    const out: (string | undefined)[] = [];
    if (b.wants[0]) {
      const da = em.op('MatMul', [g, t(ww, w2.length)]); // [...batch, M, K]
      out[0] = back(em.reduceTo(da, [...batch, a2[a2.length - 2]!, a2[a2.length - 1]!], a2), as);
    }
    if (b.wants[1]) {
      const dw = em.op('MatMul', [t(aa, a2.length), g]); // [...batch, K, N]
      out[1] = back(em.reduceTo(dw, [...batch, w2[w2.length - 2]!, w2[w2.length - 1]!], w2), ws);
    }
    return out;
  },
};

function broadcast(x: number[], y: number[]): number[] {
  const n = Math.max(x.length, y.length);
  return range(0, n).map((i) => {
    const p = x[i - (n - x.length)] ?? 1;
    const q = y[i - (n - y.length)] ?? 1;
    return p === 1 ? q : p;
  });
}
