/**
 * Between a resolved quantization plan and fake quantization: fakeQuantSpecs() turns each quantized
 * tensor of the plan into a FakeQuantize with the plan's scale, zero point and integer range (so that the
 * training graph computes what the exported QDQ model will), and trainedPlan() writes the trained scales
 * back into the plan with state 'trained', for the ordinary exporter to write.
 */
import { fail } from '../errors.js';
import { qrange } from '../quant/spec.js';
import { activationOrder, activationSpec, isQuantized, weightSpec, type QuantPlan, type Resolved } from '../plan/plan.js';
import type { FakeQuantSpec } from './fake-quant.js';

/** One spec per quantized activation (sameAs entries sharing their root's scale) and weight; biases stay float while training. */
export function fakeQuantSpecs(plan: QuantPlan): FakeQuantSpec[] {
  const specs: FakeQuantSpec[] = [];
  for (const name of activationOrder(plan)) {
    const e = plan.activations[name]!;
    if (!isQuantized(e)) continue;
    const { qmin, qmax } = qrange(activationSpec(e));
    const root = e.sameAs !== undefined && isQuantized(plan.activations[e.sameAs]!) ? e.sameAs : undefined;
    specs.push({
      tensor: name,
      bits: 8, // unused: the range is given
      range: [qmin, qmax],
      scale: e.params!.scale[0]!,
      zeroPoint: e.params!.zeroPoint[0]!,
      ...(root !== undefined ? { shareWith: root } : {}),
      ...(e.at ? { readers: e.at } : {}),
    });
  }
  for (const [name, e] of Object.entries(plan.weights)) {
    if (!isQuantized(e)) continue;
    const { qmin, qmax } = qrange(weightSpec(e));
    specs.push({
      tensor: name,
      bits: 8,
      range: [qmin, qmax],
      scale: Float32Array.from(e.params!.scale),
      zeroPoint: Float32Array.from(e.params!.zeroPoint),
      ...(e.axis !== undefined ? { axis: e.axis } : {}),
    });
  }
  return specs;
}

/**
 * The plan with each tensor's parameters replaced by its trained scale (`scales`: per quantized tensor,
 * the values of its scale after training; tensors sharing a scale each listed). Zero points are not trained. A scale that training drove to
 * zero or below cannot be exported: refused, naming the tensor.
 */
export function trainedPlan(plan: QuantPlan, scales: ReadonlyMap<string, Float32Array>): QuantPlan {
  const out = structuredClone(plan);
  const update = (name: string, p: Resolved, spec: { qmin: number; qmax: number }) => {
    const s = scales.get(name);
    if (!s) return;
    const bad = s.findIndex((v) => !(v > 0) || !Number.isFinite(v));
    if (bad >= 0) fail('BAD_CALIBRATION', `training drove the scale of '${name}' to ${s[bad]}: it cannot be exported. Lower the learning rate (--lr) or train fewer epochs.`);
    p.scale = Array.from(s);
    p.state = 'trained';
    if (p.min !== undefined || p.max !== undefined) {
      // The clip range the trained scale stands for (activations are per tensor).
      p.min = (spec.qmin - p.zeroPoint[0]!) * p.scale[0]!;
      p.max = (spec.qmax - p.zeroPoint[0]!) * p.scale[0]!;
    }
  };
  for (const [name, e] of Object.entries(out.activations)) if (isQuantized(e)) update(name, e.params!, qrange(activationSpec(e)));
  for (const [name, e] of Object.entries(out.weights)) if (isQuantized(e)) update(name, e.params!, qrange(weightSpec(e)));
  return out;
}
