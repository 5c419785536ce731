/**
 * What the report draws for one tensor: a weight's per-channel ranges against the ranges its integer
 * type covers, and an activation's histogram with the range each calibration method would pick.
 */
import type { TensorProto } from 'onnx-buf';
import type { HistogramObserver } from '../calibrate/histogram.js';
import { RANGE_METHODS } from '../calibrate/methods.js';
import type { RangeMethodName, TensorStats } from '../calibrate/observer.js';
import { DT } from '../onnx/dtype.js';
import { readFloat32, readTensor, tensorDims } from '../onnx/tensor.js';
import { channelMinMax, dequantizeArray, fakeQuantize } from '../quant/quantize.js';
import { bitsOf, typeRange, type QuantSpec, type QuantType } from '../quant/spec.js';
import type { DqParams } from './match.js';
import { sqnr } from './metrics.js';
import type { ActivationHistogram, WeightRanges } from './report.js';

const QUANT_TYPE: Partial<Record<number, QuantType>> = { [DT.INT8]: 'int8', [DT.UINT8]: 'uint8', [DT.INT16]: 'int16', [DT.UINT16]: 'uint16', [DT.INT4]: 'int4', [DT.UINT4]: 'uint4' };

/** The quant type of a DequantizeLinear's integers, or undefined for int32 (biases) and others. */
export function quantTypeOf(p: DqParams): QuantType | undefined {
  return QUANT_TYPE[p.dtype];
}

/** The spec a method would calibrate for: the type, symmetric when the zero point sits in the middle. */
export function specOf(p: DqParams, type: QuantType): QuantSpec {
  const { qmin, qmax } = typeRange(type);
  const z = p.zeroPoint[0] ?? 0;
  return { dtype: type, symmetric: z === 0 ? qmin < 0 : Math.abs(z - (qmin + qmax + 1) / 2) <= 0.5 };
}

/** The real range channel c's integers cover: (qmin − z)·s … (qmax − z)·s. */
export function coveredRange(p: DqParams, type: QuantType, c = 0): { min: number; max: number } {
  const { qmin, qmax } = typeRange(type);
  const s = p.scale[c]!;
  const z = p.zeroPoint[c] ?? 0;
  return { min: (qmin - z) * s, max: (qmax - z) * s };
}

/** `stored`: the weight's integers as the quantized model stores them; absent, the float weight is quantized here with `p`. */
export function weightRanges(name: string, node: { name: string; opType: string }, float: TensorProto, stored: TensorProto | undefined, p: DqParams, type: QuantType): WeightRanges {
  const data = readFloat32(float);
  const dims = tensorDims(float);
  const axis = p.axis !== undefined ? (p.axis < 0 ? p.axis + dims.length : p.axis) : undefined;
  const { min, max } = channelMinMax(data, dims, axis);
  const channels = min.length;
  const clipMin: number[] = [];
  const clipMax: number[] = [];
  for (let c = 0; c < channels; c++) {
    const r = coveredRange(p, type, axis === undefined ? 0 : c);
    clipMin.push(r.min);
    clipMax.push(r.max);
  }
  const spec: QuantSpec = { dtype: type, symmetric: false, ...(axis !== undefined ? { axis } : {}) };
  const params = { scale: p.scale, zeroPoint: p.zeroPoint, spec };
  const dequantized = stored ? dequantizeArray(readTensor(stored).data as ArrayLike<number>, dims, params) : fakeQuantize(data, dims, params);
  return {
    name,
    node: node.name,
    op: node.opType,
    dims,
    ...(axis !== undefined ? { axis } : {}),
    bits: bitsOf(type),
    min: Array.from(min),
    max: Array.from(max),
    clipMin,
    clipMax,
    sqnr: sqnr(data, dequantized),
  };
}

export const REPORT_HISTOGRAM_BINS = 128;

/** The histogram re-binned to REPORT_HISTOGRAM_BINS over [min, max], with every method's range. */
export function activationHistogram(name: string, stats: TensorStats, spec: QuantSpec, used: { min: number; max: number }, methods: readonly RangeMethodName[]): ActivationHistogram {
  const ranges: ActivationHistogram['ranges'] = {};
  for (const m of methods) {
    try {
      const r = RANGE_METHODS[m].range(stats, spec, {});
      ranges[m] = { min: r.min, max: r.max };
    } catch {
      // A method whose statistics are missing or degenerate for this tensor draws no marker.
    }
  }
  const lo = Math.min(stats.min, used.min);
  const hi = Math.max(stats.max, used.max);
  return { name, min: stats.min, max: stats.max, lo, hi, counts: stats.histogram ? rebin(stats.histogram, lo, hi) : [], ranges, used };
}

function rebin(h: HistogramObserver, lo: number, hi: number): number[] {
  const out = new Array<number>(REPORT_HISTOGRAM_BINS).fill(0);
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let j = 0; j < h.bins; j++) {
    const c = h.counts[j]!;
    if (c === 0) continue;
    const centre = -h.absmax + (j + 0.5) * h.width;
    const k = Math.min(REPORT_HISTOGRAM_BINS - 1, Math.max(0, Math.floor(((centre - lo) / span) * REPORT_HISTOGRAM_BINS)));
    out[k] += c;
  }
  return out;
}
