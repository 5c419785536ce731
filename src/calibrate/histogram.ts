/**
 * Histogram of a tensor's values on [−absmax, absmax], the one statistic behind the percentile, entropy
 * and mse methods. Signed, so that folding bin half+k with bin half−1−k gives exactly the |x| histogram
 * on [0, absmax] that TensorRT's entropy calibration uses (pytorch-quantization calib/histogram.py). Bin j holds
 * [edge(j), edge(j+1)); values beyond ±absmax (and ±Infinity) count in the end bins; NaN is ignored.
 *
 * Two ways to set the range. Fixed (`new HistogramObserver(absmax)`, 4096 bins): when the range is known.
 * Growing (`HistogramObserver.growing()`), as NVIDIA's pytorch-quantization HistogramCalibrator does: the
 * first batch sets the bin width (its max |x| over 2048 bins per side) and later batches that reach
 * further add bins of the same width, so counts are never re-binned and one pass over the data suffices.
 * Past 8192 bins per side neighbouring bins are merged in pairs (the width doubles), bounding memory.
 */
import { fail } from '../errors.js';
import type { Observer } from './observer.js';

export const HISTOGRAM_BINS = 4096;
/** A growing histogram starts with this many bins per side and merges pairs beyond MAX_BINS_PER_SIDE. */
export const BINS_PER_SIDE = 2048;
export const MAX_BINS_PER_SIDE = 8192;

export class HistogramObserver implements Observer {
  /** Half-width of the histogram: bins cover [−absmax, absmax]. */
  absmax: number;
  /** Number of signed bins (even). */
  bins: number;
  /** Bin width, 2·absmax/bins (0 for a degenerate histogram). */
  width: number;
  /** Signed counts: bin j covers [edge(j), edge(j + 1)). */
  counts: Float64Array;
  /** Values counted (NaN excluded). */
  total = 0;
  /** bins/2 / absmax: a value v falls in bin ⌊v·scale + bins/2⌋ (so 0 lands exactly on the middle edge). */
  private scale: number;
  /** 4 × bins uint32 counters reused by large observe() calls; made on the first one (fixed memory). */
  private scratch = new Uint32Array(0);
  /** Growing histograms only: zeros seen before any non-zero batch set the width. */
  private growingZeros = 0;
  private readonly grows: boolean;

  constructor(absmax: number, bins = HISTOGRAM_BINS, grows = false) {
    this.grows = grows;
    if (!(absmax >= 0) || !Number.isFinite(absmax)) fail('BAD_CALIBRATION', `histogram half-width ${absmax} must be a finite number ≥ 0 (it comes from the calibrated min and max; an Infinity there means the tensor overflowed)`);
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0) fail('BAD_OPTION', `histogram bins ${bins} must be an even integer ≥ 2`);
    this.absmax = absmax;
    this.bins = bins;
    this.width = (2 * absmax) / bins;
    this.scale = absmax > 0 ? bins / 2 / absmax : 0;
    this.counts = new Float64Array(bins);
  }

  /** A histogram whose range follows the data (see the file's header); call cover() before each observe(). */
  static growing(): HistogramObserver {
    return new HistogramObserver(0, HISTOGRAM_BINS, true);
  }

  /**
   * Growing histograms: makes the range reach ±absmax (the batch's largest |x|, from its exact min and
   * max), adding bins of the current width on both sides, or setting the width on the first non-zero batch.
   */
  cover(absmax: number): void {
    if (!this.grows || !(absmax > 0) || !Number.isFinite(absmax)) return;
    if (this.width === 0) {
      this.resize(BINS_PER_SIDE, absmax / BINS_PER_SIDE, 0);
      this.counts[BINS_PER_SIDE] += this.growingZeros;
      this.total += this.growingZeros;
      this.growingZeros = 0;
      return;
    }
    if (absmax <= (this.bins / 2) * this.width) return;
    // Coarsen first, so that the grown histogram never has more than MAX_BINS_PER_SIDE bins a side.
    while (Math.ceil(absmax / this.width) > MAX_BINS_PER_SIDE) this.mergePairs();
    let needed = Math.ceil(absmax / this.width);
    needed += needed & 1;
    if (needed > this.bins / 2) this.resize(needed, this.width, needed - this.bins / 2);
  }

  /** Adds bins 2m and 2m+1 together (pairs never straddle 0, as the bins per side are even): the width doubles. */
  private mergePairs(): void {
    const half = this.bins / 2;
    const merged = new Float64Array(half);
    for (let m = 0; m < half; m++) merged[m] = this.counts[2 * m]! + this.counts[2 * m + 1]!;
    const next = half / 2 + ((half / 2) & 1);
    const counts = new Float64Array(2 * next);
    counts.set(merged, next - half / 2);
    this.setBins(counts, this.width * 2);
  }

  /** Grows to `half` bins per side of width `width`, the old counts moved `shift` bins inwards. */
  private resize(half: number, width: number, shift: number): void {
    const counts = new Float64Array(2 * half);
    counts.set(this.counts, shift);
    this.setBins(counts, width);
  }

  private setBins(counts: Float64Array, width: number): void {
    this.counts = counts;
    this.bins = counts.length;
    this.width = width;
    this.absmax = (counts.length / 2) * width;
    this.scale = this.absmax > 0 ? this.bins / 2 / this.absmax : 0;
    this.scratch = new Uint32Array(0);
  }

  /** A histogram of half-width max(|min|, |max|), for a range known in advance. */
  static forRange(min: number, max: number, bins = HISTOGRAM_BINS): HistogramObserver {
    const absmax = min <= max ? Math.max(Math.abs(min), Math.abs(max)) : 0;
    return new HistogramObserver(absmax, bins);
  }

  /** True when absmax = 0: everything observed sits at (or beyond) zero and every method returns [0, 0]. */
  get degenerate(): boolean {
    return this.absmax === 0;
  }

  observe(values: Float32Array): void {
    if (this.grows && this.width === 0) return this.observeZeros(values);
    if (this.absmax === 0) return this.observeDegenerate(values);
    if (values.length < 2 * this.bins) return this.observeSmall(values);
    // Count into four interleaved uint32 sub-histograms, then add them to the float64 counts: consecutive
    // values that hit the same bin (a zero spike, a constant tensor) then do not wait on each other's
    // increment. Chunks of 2³⁰ keep every uint32 count below 2³².
    if (this.scratch.length !== 4 * this.bins) this.scratch = new Uint32Array(4 * this.bins);
    const tmp = this.scratch;
    const CHUNK = 2 ** 30;
    for (let from = 0; from < values.length; from += CHUNK) {
      tmp.fill(0);
      const skipped = this.countInto(tmp, values, from, Math.min(values.length, from + CHUNK));
      const c = this.counts;
      const nb = this.bins;
      for (let j = 0; j < nb; j++) c[j] += tmp[j]! + tmp[nb + j]! + tmp[2 * nb + j]! + tmp[3 * nb + j]!;
      this.total += Math.min(values.length, from + CHUNK) - from - skipped;
    }
  }

  /** The hot loop: bin of v is ⌊v·scale + bins/2⌋ clamped to [0, bins − 1]. Returns the NaNs skipped. */
  private countInto(tmp: Uint32Array, values: Float32Array, from: number, to: number): number {
    const nb = this.bins;
    const last = nb - 1;
    const half = nb / 2;
    const k = this.scale;
    // t ≥ 0 and t < nb also keep `| 0` away from values that overflow int32; NaN fails t === t.
    const bin = (t: number): number => (t >= 0 ? (t < nb ? t | 0 : last) : 0);
    let skipped = 0;
    let i = from;
    for (const end4 = from + ((to - from) & ~3); i < end4; i += 4) {
      const t0 = values[i]! * k + half;
      const t1 = values[i + 1]! * k + half;
      const t2 = values[i + 2]! * k + half;
      const t3 = values[i + 3]! * k + half;
      if (t0 === t0) tmp[bin(t0)]++;
      else skipped++;
      if (t1 === t1) tmp[nb + bin(t1)]++;
      else skipped++;
      if (t2 === t2) tmp[2 * nb + bin(t2)]++;
      else skipped++;
      if (t3 === t3) tmp[3 * nb + bin(t3)]++;
      else skipped++;
    }
    for (; i < to; i++) {
      const t = values[i]! * k + half;
      if (t === t) tmp[bin(t)]++;
      else skipped++;
    }
    return skipped;
  }

  /** Short arrays: count straight into the float64 bins (clearing and adding the scratch would cost more). */
  private observeSmall(values: Float32Array): void {
    const c = this.counts;
    const nb = this.bins;
    const half = nb / 2;
    const k = this.scale;
    let skipped = 0;
    for (let i = 0, n = values.length; i < n; i++) {
      const t = values[i]! * k + half;
      if (t === t) c[t >= 0 ? (t < nb ? t | 0 : nb - 1) : 0]++;
      else skipped++;
    }
    this.total += values.length - skipped;
  }

  /** A growing histogram before its first non-zero batch: only zeros (and NaN) can arrive. */
  private observeZeros(values: Float32Array): void {
    for (let i = 0; i < values.length; i++) if (values[i] === 0) this.growingZeros++;
  }

  private observeDegenerate(values: Float32Array): void {
    const c = this.counts;
    const half = this.bins / 2;
    let neg = 0;
    let zero = 0;
    let pos = 0;
    for (let i = 0, n = values.length; i < n; i++) {
      const v = values[i]!;
      if (v > 0) pos++;
      else if (v < 0) neg++;
      else if (v === 0) zero++;
    }
    c[0] += neg;
    c[half] += zero;
    c[this.bins - 1] += pos;
    this.total += neg + zero + pos;
  }

  /**
   * Folds in another histogram. Same edges: counts add. Otherwise (two growing histograms rarely share
   * a width) this one first grows to cover the other's range, and the other's counts are spread over
   * this one's bins by overlap, as if values were uniform within each bin.
   */
  merge(other: HistogramObserver): void {
    if (other.absmax === this.absmax && other.bins === this.bins) {
      for (let j = 0; j < this.counts.length; j++) this.counts[j] += other.counts[j]!;
      this.total += other.total;
      return;
    }
    if (other.width === 0) {
      if (this.grows && this.width === 0) this.growingZeros += other.growingZeros;
      else this.counts[this.bins / 2] += other.growingZeros;
      this.total += other.growingZeros;
      return;
    }
    if (this.grows) this.cover(other.absmax);
    spread(other.counts, -other.absmax, other.width, this.counts, -this.absmax, this.width);
    this.total += other.total;
  }

  /** Lower edge of signed bin j (j = 0…bins; edge(bins) = absmax, edge(bins/2) = 0). */
  edge(j: number): number {
    if (j === this.bins) return this.absmax;
    if (j === 0) return -this.absmax;
    return (j - this.bins / 2) * this.width;
  }

  /** All bins + 1 signed edges. */
  edges(): Float64Array {
    const e = new Float64Array(this.bins + 1);
    for (let j = 0; j <= this.bins; j++) e[j] = this.edge(j);
    return e;
  }

  /**
   * The |x| histogram on [0, absmax] with bins/2 bins (2048 by default): bin k = signed bins half+k and
   * half−1−k, i.e. |x| ∈ [k·width, (k+1)·width). (A negative value exactly on an edge −k·width lands in |x|-bin
   * k−1 rather than k; the intervals differ only on those edges.)
   */
  absHistogram(): Float64Array {
    const half = this.bins / 2;
    const c = this.counts;
    const a = new Float64Array(half);
    for (let k = 0; k < half; k++) a[k] = c[half + k]! + c[half - 1 - k]!;
    return a;
  }

  /** Edge k of the |x| histogram: k·width (k = 0…bins/2; the last is absmax). */
  absEdge(k: number): number {
    return k === this.bins / 2 ? this.absmax : k * this.width;
  }
}

/**
 * Adds counts of bins [from + j·w, from + (j+1)·w) to bins [to + k·W, to + (k+1)·W) by overlap; mass
 * outside the target range goes to its end bins, as observe() does with values.
 */
function spread(src: Float64Array, from: number, w: number, dst: Float64Array, to: number, W: number): void {
  const last = dst.length - 1;
  for (let j = 0; j < src.length; j++) {
    const c = src[j]!;
    if (c === 0) continue;
    const a = from + j * w;
    const b = a + w;
    let k = Math.floor((a - to) / W);
    if (k < 0 || k > last) {
      dst[k < 0 ? 0 : last] += c;
      continue;
    }
    let left = a;
    while (left < b) {
      const edge = k >= last ? Infinity : to + (k + 1) * W;
      const right = Math.min(b, edge);
      dst[Math.min(k, last)] += (c * (right - left)) / w;
      left = right;
      k++;
    }
  }
}
