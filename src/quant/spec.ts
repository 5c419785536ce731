/**
 * QuantSpec: how one tensor is quantized — integer type, symmetric or not, per-channel axis,
 * reduced range — and the integer range each combination allows.
 * Ranges follow ORT's get_qmin_qmax_for_qType and its reduced-range table (onnxruntime/python/tools/quantization/quant_utils.py).
 */
import { DT } from '../onnx/dtype.js';

export type QuantType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int4' | 'uint4';

export const QUANT_TYPES: readonly QuantType[] = ['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4'];

export interface QuantSpec {
  dtype: QuantType;
  symmetric: boolean;
  /** Per-channel along this axis; per-tensor when absent. */
  axis?: number;
  /** 7-bit range (8-bit types), for CPUs whose u8×s8 kernels can saturate. */
  reduceRange?: boolean;
  /**
   * Bits the values use when fewer than the type stores (3-bit weights in int4, 6-bit in int8): the
   * integers keep to the narrower range, so the model computes what an N-bit kernel would.
   */
  bits?: number;
}

export interface QRange {
  qmin: number;
  qmax: number;
}

export function isSigned(t: QuantType): boolean {
  return t === 'int8' || t === 'int16' || t === 'int4';
}

export function bitsOf(t: QuantType): number {
  return t.endsWith('16') ? 16 : t.endsWith('8') ? 8 : 4;
}

export function onnxType(t: QuantType): number {
  return { int8: DT.INT8, uint8: DT.UINT8, int16: DT.INT16, uint16: DT.UINT16, int4: DT.INT4, uint4: DT.UINT4 }[t];
}

/** The bits a spec's values use: its `bits` where narrower than the type, else the type's. */
export function effectiveBits(spec: Pick<QuantSpec, 'dtype' | 'bits'>): number {
  return Math.min(spec.bits ?? 16, bitsOf(spec.dtype));
}

export function qrange(spec: Pick<QuantSpec, 'dtype' | 'symmetric' | 'reduceRange' | 'bits'>): QRange {
  const bits = bitsOf(spec.dtype);
  const narrow = effectiveBits(spec);
  if (narrow < bits) {
    // N bits inside a wider type: the N-bit type's own range (symmetric signed drops its lowest value).
    const m = 2 ** (narrow - 1);
    if (isSigned(spec.dtype)) return spec.symmetric ? { qmin: -(m - 1), qmax: m - 1 } : { qmin: -m, qmax: m - 1 };
    return { qmin: 0, qmax: 2 ** narrow - 1 };
  }
  if (spec.reduceRange) {
    // One bit less than the type, as ORT's reduced-range table: int8 ±64, int16 ±16384, but int4 −4…3.
    const half = 2 ** (bits - 2);
    return isSigned(spec.dtype) ? { qmin: -half, qmax: bits === 4 ? half - 1 : half } : { qmin: 0, qmax: 2 * half - 1 };
  }
  if (isSigned(spec.dtype)) {
    const m = 2 ** (bits - 1);
    // Symmetric signed ranges drop the lowest value so that ±r map to ±qmax (4-bit keeps the full range).
    return spec.symmetric && bits > 4 ? { qmin: -(m - 1), qmax: m - 1 } : { qmin: -m, qmax: m - 1 };
  }
  const top = 2 ** bits - 1;
  return spec.symmetric && bits > 4 ? { qmin: 0, qmax: top - 1 } : { qmin: 0, qmax: top };
}

/** The full range of the storage type: what QuantizeLinear saturates to. */
export function typeRange(t: QuantType): QRange {
  const bits = bitsOf(t);
  return isSigned(t) ? { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 } : { qmin: 0, qmax: 2 ** bits - 1 };
}
