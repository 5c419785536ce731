/**
 * Resolving a plan: every entry without parameters gets them. An activation's range comes from its
 * method's statistics (or is fixed, or shared with another tensor), a weight's from its values
 * (max |w| per channel, or MNN's ADMM); scale and zero point then follow from quant/params.ts.
 * Entries that already carry parameters (a plan file, a search, training) keep them. Last, weight
 * scales too small for an int32 bias are enlarged, as ORT does (quant/bias.ts).
 */
import type { TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { allFinite, readFloat32, tensorDims } from '../onnx/tensor.js';
import { adjustWeightScaleForBias } from '../quant/bias.js';
import { paramsFromRanges } from '../quant/params.js';
import { channelMinMax } from '../quant/quantize.js';
import { effectiveBits, type QuantSpec } from '../quant/spec.js';
import { admmWeightRanges } from '../calibrate/admm.js';
import { RANGE_METHODS } from '../calibrate/methods.js';
import type { Range, RangeMethodOptions, TensorStats } from '../calibrate/observer.js';
import { activationOrder, activationSpec, weightSpec, type ActivationEntry, type QuantPlan, type Resolved, type WeightEntry } from './plan.js';

export interface ResolveReport {
  /** Weight channels whose scale was enlarged so that the int32 bias does not overflow. */
  adjustedWeightChannels: number;
}

/** Fills in the parameters of every entry of `plan` that has none (the plan is edited in place). */
export function resolvePlan(
  plan: QuantPlan,
  stats: ReadonlyMap<string, TensorStats>,
  constant: (name: string) => TensorProto | undefined,
  options: RangeMethodOptions = {},
): ResolveReport {
  for (const name of activationOrder(plan)) resolveActivation(plan, name, stats, options);
  for (const [name, e] of Object.entries(plan.weights)) e.params ??= weightParams(name, e, constant(name));
  return { adjustedWeightChannels: fitBiases(plan, constant) };
}

function resolveActivation(plan: QuantPlan, name: string, stats: ReadonlyMap<string, TensorStats>, options: RangeMethodOptions): void {
  const e = plan.activations[name]!;
  if (e.params) return;
  if (e.sameAs !== undefined) {
    const root = plan.activations[e.sameAs];
    if (!root) fail('BAD_PLAN', `tensor '${name}' is referenced by sameAs but has no entry of its own in the plan.`);
    if (!root.params) fail('BAD_PLAN', `the plan's sameAs links form a loop through '${name}'.`);
    const { min: _min, max: _max, ...shared } = root.params;
    e.params = { ...shared, scale: [...shared.scale], zeroPoint: [...shared.zeroPoint] };
    return;
  }
  const r = activationRange(name, e, stats, options);
  e.params = { ...fromRanges([r.min], [r.max], activationSpec(e)), min: r.min, max: r.max };
}

function activationRange(name: string, e: ActivationEntry, stats: ReadonlyMap<string, TensorStats>, options: RangeMethodOptions): Range {
  if (e.range) return { min: e.range[0], max: e.range[1] };
  if (!e.method) fail('BAD_PLAN', `tensor '${name}' needs a method, a range or sameAs in the plan.`);
  const s = stats.get(name);
  if (!s) fail('BAD_PLAN', `tensor '${name}' has no calibration statistics; is it a float tensor of the model?`);
  if (!Number.isFinite(s.min) || !Number.isFinite(s.max))
    fail(
      'BAD_CALIBRATION',
      `tensor '${name}' reached ${s.min}…${s.max} on the calibration data: infinite values cannot be quantized. Check the data's ` +
        `normalisation (--scale, --mean, --std); if the float model itself overflows there, keep that node float with --exclude.`,
    );
  return RANGE_METHODS[e.method].range(s, activationSpec(e), options);
}

function weightParams(name: string, e: WeightEntry, t: TensorProto | undefined): Resolved {
  if (!t) fail('BAD_PLAN', `weight '${name}' is not a constant of the model.`);
  const data = readFloat32(t);
  const dims = tensorDims(t);
  if (e.axis !== undefined && (e.axis >= dims.length || e.axis < -dims.length))
    fail('BAD_PLAN', `weight '${name}' has ${dims.length} dimensions; axis ${e.axis} does not exist.`);
  if (!allFinite(t))
    fail('BAD_MODEL', `weight '${name}' holds NaN or infinite values, which cannot be quantized. The model file is damaged; to keep its node float, name the node in --exclude.`);
  const r = e.method === 'admm' ? admmWeightRanges(data, dims, e.axis, weightSpec(e)) : channelMinMax(data, dims, e.axis);
  return { ...fromRanges(r.min, r.max, weightSpec(e)), state: e.method === 'admm' ? 'searched' : 'calibrated' };
}

function fromRanges(min: ArrayLike<number>, max: ArrayLike<number>, spec: QuantSpec): Resolved {
  const p = paramsFromRanges(min, max, spec);
  return { scale: Array.from(p.scale), zeroPoint: Array.from(p.zeroPoint), bits: effectiveBits(spec), state: 'calibrated' };
}

/**
 * A bias is stored as int32 with scale s_input·s_weight·β: where a weight channel's scale is so small
 * that the bias would overflow, the weight's scale is enlarged (the weight then loses a little
 * resolution in that channel, the bias none).
 */
function fitBiases(plan: QuantPlan, constant: (name: string) => TensorProto | undefined): number {
  let changed = 0;
  for (const [biasName, bias] of Object.entries(plan.biases)) {
    const input = plan.activations[bias.input]?.params;
    const weight = plan.weights[bias.weight]?.params;
    const tensor = constant(biasName);
    if (!input || !weight || !tensor || input.state === 'float' || weight.state === 'float') continue;
    const scale = Float32Array.from(weight.scale);
    const adjusted = adjustWeightScaleForBias(readFloat32(tensor), input.scale[0]!, scale, bias.beta ?? 1);
    for (let c = 0; c < adjusted.length; c++)
      if (adjusted[c] !== scale[c]) {
        weight.scale[c] = adjusted[c]!;
        changed++;
      }
  }
  return changed;
}
