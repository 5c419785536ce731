/**
 * The ranges table (`--save-ranges`): every quantized tensor's range, scale and zero point as JSON,
 * scales as steps (x ≈ (q − z)·s), for reading, diffing and other tools.
 */
import { qrange } from '../quant/spec.js';
import { activationOrder, isQuantized, weightSpec, type QuantPlan } from '../plan/plan.js';

export interface RangeRecord {
  kind: 'activation' | 'weight';
  dtype: string;
  symmetric: boolean;
  qmin: number;
  qmax: number;
  axis?: number;
  method?: string;
  sameAs?: string;
  /** Range the method chose (activations with a range of their own). */
  min?: number;
  max?: number;
  scale: number[];
  zero_point: number[];
}

/** The table of a resolved plan: activations (shared parameters after their owner), then weights. */
export function rangesTable(plan: QuantPlan): Record<string, RangeRecord> {
  const out: Record<string, RangeRecord> = {};
  for (const name of activationOrder(plan)) {
    const e = plan.activations[name]!;
    const p = e.params;
    if (!p || !isQuantized(e)) continue;
    out[name] = {
      kind: 'activation',
      dtype: e.dtype,
      symmetric: e.symmetric,
      ...qrange(e),
      ...(e.method ? { method: e.method } : {}),
      ...(e.sameAs ? { sameAs: e.sameAs } : {}),
      ...(p.min !== undefined && p.max !== undefined ? { min: p.min, max: p.max } : {}),
      scale: p.scale,
      zero_point: p.zeroPoint,
    };
  }
  for (const [name, e] of Object.entries(plan.weights)) {
    const p = e.params;
    if (!p || !isQuantized(e)) continue;
    out[name] = {
      kind: 'weight',
      dtype: e.dtype,
      symmetric: e.symmetric,
      ...qrange(weightSpec(e)),
      ...(e.axis !== undefined ? { axis: e.axis } : {}),
      method: e.method,
      scale: p.scale,
      zero_point: p.zeroPoint,
    };
  }
  return out;
}
