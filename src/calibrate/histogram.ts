/**
 * Fixed-range histogram of a tensor's values on [−absmax, absmax] (pass 2, absmax from pass 1), the one
 * statistic behind the percentile, entropy and mse methods. Signed, 4096 bins by default, so that folding
 * bin half+k with bin half−1−k gives exactly the 2048-bin |x| histogram on [0, absmax] that TensorRT's
 * entropy calibration uses (reference §2.3). Bin j holds [edge(j), edge(j+1)); values beyond ±absmax
 * (and ±Infinity) count in the end bins; NaN is ignored. The edges never move, so merging is adding counts.
 */
import { fail } from '../errors.js';
import type { Observer } from './observer.js';

export const HISTOGRAM_BINS = 4096;

export class HistogramObserver implements Observer {
  /** Half-width of the histogram: bins cover [−absmax, absmax]. */
  readonly absmax: number;
  /** Number of signed bins (even). */
  readonly bins: number;
  /** Bin width, 2·absmax/bins (0 for a degenerate histogram). */
  readonly width: number;
  /** Signed counts: bin j covers [edge(j), edge(j + 1)). */
  readonly counts: Float64Array;
  /** Values counted (NaN excluded). */
  total = 0;
  /** bins/2 / absmax: a value v falls in bin ⌊v·scale + bins/2⌋ (so 0 lands exactly on the middle edge). */
  private readonly scale: number;
  /** 4 × bins uint32 counters reused by every observe() call (fixed memory). */
  private readonly scratch: Uint32Array;

  constructor(absmax: number, bins = HISTOGRAM_BINS) {
    if (!(absmax >= 0) || !Number.isFinite(absmax)) fail('BAD_CALIBRATION', `histogram half-width ${absmax} must be a finite number ≥ 0 (it comes from pass 1's min and max; an Infinity there means the tensor overflowed)`);
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0) fail('BAD_OPTION', `histogram bins ${bins} must be an even integer ≥ 2`);
    this.absmax = absmax;
    this.bins = bins;
    this.width = (2 * absmax) / bins;
    this.scale = absmax > 0 ? bins / 2 / absmax : 0;
    this.counts = new Float64Array(bins);
    this.scratch = new Uint32Array(absmax > 0 ? 4 * bins : 0);
  }

  /** A histogram of half-width max(|min|, |max|), for the range pass 1 found. */
  static forRange(min: number, max: number, bins = HISTOGRAM_BINS): HistogramObserver {
    const absmax = min <= max ? Math.max(Math.abs(min), Math.abs(max)) : 0;
    return new HistogramObserver(absmax, bins);
  }

  /** True when absmax = 0: everything observed sits at (or beyond) zero and every method returns [0, 0]. */
  get degenerate(): boolean {
    return this.absmax === 0;
  }

  observe(values: Float32Array): void {
    if (this.absmax === 0) return this.observeDegenerate(values);
    if (values.length < 2 * this.bins) return this.observeSmall(values);
    // Count into four interleaved uint32 sub-histograms, then add them to the float64 counts: consecutive
    // values that hit the same bin (a zero spike, a constant tensor) then do not wait on each other's
    // increment. Chunks of 2³⁰ keep every uint32 count below 2³².
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

  merge(other: HistogramObserver): void {
    if (other.absmax !== this.absmax || other.bins !== this.bins)
      fail('BAD_CALIBRATION', `cannot merge histograms on ±${this.absmax} (${this.bins} bins) and ±${other.absmax} (${other.bins} bins): build both from the same pass-1 range`);
    const c = this.counts;
    const o = other.counts;
    for (let j = 0; j < c.length; j++) c[j] += o[j]!;
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
