/**
 * LayerNormalization (opset 17) over the axes from `axis` on, n values each: x̂ = (X − μ)·inv,
 * inv = 1/√(σ² + ε), Y = x̂·scale + B. With g = dY·scale:
 * dX = inv·(g − mean(g) − x̂·mean(g·x̂)), dscale = Σ dY·x̂, dB = Σ dY (sums over the leading axes, and any
 * axis scale or B broadcast along). μ and inv are recomputed here (ReduceSum·1/n), not read from the
 * op's optional outputs.
 */
import { attrFloat, attrInt, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';
import { numel } from '../../onnx/tensor.js';
import { axisOf, range } from '../emit.js';
import { dy, type BackwardRule } from './rule.js';

export const layerNormalization: BackwardRule = {
  prepare: (node) => {
    if (attrInt(node, 'stash_type', 1) !== 1) fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)}: LayerNormalization with stash_type other than float.`);
  },
  grad: (b) => {
    const { node, em } = b;
    const [x, scale, bias] = [node.input[0]!, node.input[1]!, node.input[2]];
    const xs = em.shape(x);
    const axes = range(axisOf(attrInt(node, 'axis', -1), xs.length), xs.length);
    const n = numel(axes.map((a) => xs[a]!));
    const mean = (t: string) => em.op('Mul', [em.reduceSum(t, axes, 1), em.scalar(1 / n)]);
    const centred = em.op('Sub', [x, mean(x)]);
    const inv = em.op('Reciprocal', [em.op('Sqrt', [em.op('Add', [mean(em.op('Mul', [centred, centred])), em.scalar(attrFloat(node, 'epsilon', 1e-5))])])]);
    const normalized = em.op('Mul', [centred, inv]);
    const out: (string | undefined)[] = [];
    if (b.wants[0]) {
      const g = em.op('Mul', [dy(b), scale]);
      const inner = em.op('Sub', [em.op('Sub', [g, mean(g)]), em.op('Mul', [normalized, mean(em.op('Mul', [g, normalized]))])]);
      out[0] = em.op('Mul', [inv, inner]);
    }
    if (b.wants[1]) out[1] = em.reduceTo(em.op('Mul', [dy(b), normalized]), xs, em.shape(scale));
    if (b.wants[2] && bias) out[2] = em.reduceTo(dy(b), xs, em.shape(bias));
    return out;
  },
};
