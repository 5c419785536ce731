/**
 * From statistics to quantization parameters: each activation's range comes from its method
 * (or is fixed, or shared with another tensor), each weight's from its values (max |w| per channel,
 * or ADMM). Scales and zero points then follow from quant/params.ts.
 */
import type { TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { readFloat32, tensorDims } from '../onnx/tensor.js';
import { paramsFromRanges, type QuantParams } from '../quant/params.js';
import { channelMinMax } from '../quant/quantize.js';
import type { QuantSpec } from '../quant/spec.js';
import type { ActivationEntry, QuantPlan, WeightEntry } from '../plan/plan.js';
import { admmWeightRanges } from './admm.js';
import { RANGE_METHODS } from './methods.js';
import type { Range, RangeMethodOptions, TensorStats } from './observer.js';

export function activationSpec(e: ActivationEntry): QuantSpec {
  return { dtype: e.dtype, symmetric: e.symmetric, ...(e.reduceRange ? { reduceRange: true } : {}) };
}

export function weightSpec(e: WeightEntry): QuantSpec {
  return { dtype: e.dtype, symmetric: e.symmetric, ...(e.axis !== undefined ? { axis: e.axis } : {}), ...(e.reduceRange ? { reduceRange: true } : {}) };
}

/** The range each activation with a method of its own gets. */
export function activationRanges(plan: QuantPlan, stats: ReadonlyMap<string, TensorStats>, options: RangeMethodOptions = {}): Map<string, Range> {
  const ranges = new Map<string, Range>();
  for (const [name, e] of Object.entries(plan.activations)) {
    if (e.range) ranges.set(name, { min: e.range[0], max: e.range[1] });
    else if (e.method) {
      const s = stats.get(name);
      if (!s) fail('BAD_PLAN', `tensor '${name}' has no calibration statistics; is it a float tensor of the model?`);
      if (!Number.isFinite(s.min) || !Number.isFinite(s.max))
        fail(
          'BAD_CALIBRATION',
          `tensor '${name}' reached ${s.min}…${s.max} on the calibration data: infinite values cannot be quantized. Check the data's ` +
            `normalisation (--scale, --mean, --std); if the float model itself overflows there, keep that node float with --exclude.`,
        );
      ranges.set(name, RANGE_METHODS[e.method].range(s, activationSpec(e), options));
    }
  }
  return ranges;
}

/** Scale and zero point of every activation, following `sameAs` links to the tensor that owns them. */
export function activationParams(plan: QuantPlan, ranges: ReadonlyMap<string, Range>): Map<string, QuantParams> {
  const out = new Map<string, QuantParams>();
  const resolve = (name: string, seen: Set<string>): QuantParams => {
    const done = out.get(name);
    if (done) return done;
    const e = plan.activations[name];
    if (!e) fail('BAD_PLAN', `tensor '${name}' is referenced by sameAs but has no entry of its own in the plan.`);
    let p: QuantParams;
    if (e.sameAs) {
      if (seen.has(name)) fail('BAD_PLAN', `the plan's sameAs links form a loop through '${name}'.`);
      seen.add(name);
      const root = resolve(e.sameAs, seen);
      p = { ...root, spec: { ...root.spec } };
    } else {
      const r = ranges.get(name);
      if (!r) fail('BAD_PLAN', `tensor '${name}' needs a method, a range or sameAs in the plan.`);
      p = paramsFromRanges([r.min], [r.max], activationSpec(e));
    }
    out.set(name, p);
    return p;
  };
  for (const name of Object.keys(plan.activations)) resolve(name, new Set());
  return out;
}

export function weightParams(plan: QuantPlan, constant: (name: string) => TensorProto | undefined): Map<string, QuantParams> {
  const out = new Map<string, QuantParams>();
  for (const [name, e] of Object.entries(plan.weights)) {
    const t = constant(name);
    if (!t) fail('BAD_PLAN', `weight '${name}' is not a constant of the model.`);
    const data = readFloat32(t);
    const dims = tensorDims(t);
    const spec = weightSpec(e);
    if (e.axis !== undefined && (e.axis >= dims.length || e.axis < -dims.length))
      fail('BAD_PLAN', `weight '${name}' has ${dims.length} dimensions; axis ${e.axis} does not exist.`);
    const r = e.method === 'admm' ? admmWeightRanges(data, dims, e.axis, spec) : channelMinMax(data, dims, e.axis);
    out.set(name, paramsFromRanges(r.min, r.max, spec));
  }
  return out;
}
