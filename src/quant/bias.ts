/**
 * Bias as int32 with scale s_input·s_weight·β and zero point 0 (ORT base_quantizer.py, quantize_bias_static_impl),
 * so that integer kernels add it straight to their int32 accumulators. Rounded half to even in float64.
 */
import { roundHalfEven } from './round.js';

const INT32_MAX = 2 ** 31 - 1;

export interface QuantizedBias {
  data: Int32Array;
  scale: Float32Array;
}

/**
 * A weight channel whose scale is tiny (near-zero weights) makes the bias scale tiny and the bias
 * overflow int32. Enlarge such weight scales so that |b| fits with a factor-2 margin, as ORT does
 * (its _adjust_weight_scale_for_int32_bias). Returns a new array; `weightScale` is not changed.
 */
export function adjustWeightScaleForBias(bias: Float32Array, inputScale: number, weightScale: Float32Array, beta = 1): Float32Array {
  const out = Float32Array.from(weightScale);
  for (let c = 0; c < bias.length; c++) {
    const i = weightScale.length === 1 ? 0 : c;
    // |b| / (s_in·s_w·β) ≤ INT32_MAX / 2  ⇔  s_w ≥ 2|b| / (s_in·β·INT32_MAX)
    const needed = (2 * Math.abs(bias[c]!)) / (inputScale * Math.abs(beta) * INT32_MAX);
    if (out[i]! < needed) out[i] = Math.fround(needed * (1 + 2 ** -20));
  }
  return out;
}

export function quantizeBias(bias: Float32Array, inputScale: number, weightScale: Float32Array, beta = 1): QuantizedBias {
  const perChannel = weightScale.length > 1;
  const scale = new Float32Array(perChannel ? weightScale.length : 1);
  for (let c = 0; c < scale.length; c++) scale[c] = Math.fround(inputScale * weightScale[c]! * beta);
  const data = new Int32Array(bias.length);
  for (let i = 0; i < bias.length; i++) {
    const s = scale[perChannel ? i : 0]!;
    const q = roundHalfEven(bias[i]! / s);
    data[i] = Math.max(-INT32_MAX - 1, Math.min(INT32_MAX, q));
  }
  return { data, scale };
}
