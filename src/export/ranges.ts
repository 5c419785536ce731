/**
 * The ranges table (`--save-ranges`): every quantized tensor's range, scale and zero point as JSON,
 * scales as steps (x ≈ (q − z)·s), for reading, diffing and other tools.
 */
import type { Range } from '../calibrate/observer.js';
import type { QuantParams } from '../quant/params.js';
import { qrange } from '../quant/spec.js';
import type { QuantPlan } from '../plan/plan.js';

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

export function rangesTable(
  plan: QuantPlan,
  ranges: ReadonlyMap<string, Range>,
  activations: ReadonlyMap<string, QuantParams>,
  weights: ReadonlyMap<string, QuantParams>,
): Record<string, RangeRecord> {
  const out: Record<string, RangeRecord> = {};
  for (const [name, p] of activations) {
    const e = plan.activations[name];
    const r = ranges.get(name);
    out[name] = {
      kind: 'activation',
      dtype: p.spec.dtype,
      symmetric: p.spec.symmetric,
      ...qrange(p.spec),
      ...(e?.method ? { method: e.method } : {}),
      ...(e?.sameAs ? { sameAs: e.sameAs } : {}),
      ...(r ? { min: r.min, max: r.max } : {}),
      scale: Array.from(p.scale),
      zero_point: Array.from(p.zeroPoint),
    };
  }
  for (const [name, p] of weights) {
    out[name] = {
      kind: 'weight',
      dtype: p.spec.dtype,
      symmetric: p.spec.symmetric,
      ...qrange(p.spec),
      ...(p.spec.axis !== undefined ? { axis: p.spec.axis } : {}),
      method: plan.weights[name]?.method,
      scale: Array.from(p.scale),
      zero_point: Array.from(p.zeroPoint),
    };
  }
  return out;
}
