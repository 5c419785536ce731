/**
 * Shared by the entropy and mse searches: how many quantization levels a spec has, and onnxq's family of
 * asymmetric candidate windows for mixed-sign tensors — the observed [min, max] scaled by a common factor
 * t ∈ (0, 1] (so the zero point stays where minmax puts it), snapped to the signed histogram's bin edges.
 * Also the guards every histogram method starts with. Limitation of the common factor: a tensor with
 * outliers on one side only gets its clean side clipped in proportion too.
 */
import { fail } from '../errors.js';
import { effectiveBits, type QuantSpec } from '../quant/spec.js';
import { HistogramObserver } from './histogram.js';
import { observedRange } from './minmax.js';
import type { Range, TensorStats } from './observer.js';

/** TensorRT's first candidate: 128 |x|-bins of 2048 (pytorch-quantization start_bin). */
export const START_BIN = 128;

/** Levels of the quantized distribution: 2^(bits−1) per side when symmetric, 2^bits when not (one bit less with reduceRange). */
export function levelsOf(spec: QuantSpec): number {
  const bits = effectiveBits(spec) - (spec.reduceRange ? 1 : 0);
  return spec.symmetric ? 2 ** (bits - 1) : 2 ** bits;
}

/** A window of signed bins [start, start + n). */
export interface BinWindow {
  start: number;
  n: number;
}

/**
 * Windows [c − round(k·|min|/absmax), c + round(k·max/absmax)) around the zero edge c = bins/2, for
 * k = startBin … bins/2 (k counts |x|-bins on the dominant side: the same candidates as TensorRT's i).
 * Consecutive duplicates are dropped. Meant for min < 0 < max.
 */
export function scaledWindows(h: HistogramObserver, min: number, max: number, startBin = START_BIN): BinWindow[] {
  const half = h.bins / 2;
  const rn = Math.min(1, Math.abs(min) / h.absmax);
  const rp = Math.min(1, Math.abs(max) / h.absmax);
  const out: BinWindow[] = [];
  let prevL = -1;
  let prevR = -1;
  for (let k = Math.min(startBin, half); k <= half; k++) {
    const nl = Math.round(k * rn);
    const nr = Math.round(k * rp);
    if (nl + nr < 1 || (nl === prevL && nr === prevR)) continue;
    prevL = nl;
    prevR = nr;
    out.push({ start: half - nl, n: nl + nr });
  }
  return out;
}

/** The histogram of the stats, or a reason to stop: a range to return as is. */
export function histogramOf(stats: TensorStats, method: string): HistogramObserver | Range {
  const h = stats.histogram;
  if (!h) return fail('BAD_CALIBRATION', `the ${method} method needs a histogram gathered during calibration (see needsOf)`);
  if (h.degenerate) return { min: 0, max: 0 };
  if (h.total === 0) return observedRange(stats);
  return h;
}

/** [lo, hi] ∩ [min, max] as ORT does for asymmetric ranges (the observed range when they do not meet). */
export function clampToObserved(r: Range, stats: Pick<TensorStats, 'min' | 'max'>): Range {
  const seen = observedRange(stats);
  const min = Math.max(r.min, seen.min);
  const max = Math.min(r.max, seen.max);
  return min <= max ? { min, max } : seen;
}

