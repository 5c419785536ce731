/**
 * Scale and zero point from a real range, as ORT's compute_scale_zp (quant_utils.py) does it,
 * onnxruntime/python/tools/quantization/quant_utils.py: the range is widened to contain 0, made symmetric when asked,
 * s = (rmax − rmin)/(qmax − qmin) in float64, z = round(qmin − rmin/s) (or the range's middle when
 * symmetric); a scale below float32's smallest normal becomes 1 with z = 0. Scales are stored as float32.
 */
import { qrange, type QuantSpec } from './spec.js';
import { roundHalfEven } from './round.js';

export interface QuantParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  spec: QuantSpec;
}

const FLOAT32_TINY = 1.1754943508222875e-38;

export function scaleZeroPoint(rmin: number, rmax: number, spec: QuantSpec): { scale: number; zeroPoint: number } {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax)) throw new Error(`range [${rmin}, ${rmax}] is not finite`);
  const { qmin, qmax } = qrange(spec);
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (spec.symmetric) {
    const r = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -r;
    hi = r;
  }
  const s = (hi - lo) / (qmax - qmin);
  if (s < FLOAT32_TINY) return { scale: 1, zeroPoint: 0 };
  const z = spec.symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - lo / s);
  return { scale: Math.fround(s), zeroPoint: Math.min(qmax, Math.max(qmin, z)) };
}

/** Parameters for per-tensor (one range) or per-channel (one range per channel) quantization. */
export function paramsFromRanges(min: ArrayLike<number>, max: ArrayLike<number>, spec: QuantSpec): QuantParams {
  const n = min.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const p = scaleZeroPoint(min[c]!, max[c]!, spec);
    scale[c] = p.scale;
    zeroPoint[c] = p.zeroPoint;
  }
  return { scale, zeroPoint, spec };
}
