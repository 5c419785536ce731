/**
 * Entropy (KL-divergence) calibration. Symmetric specs: TensorRT's EntropyCalibration2 (Migacz 2017, "8-bit
 * Inference with TensorRT", GTC; re-implemented in NVIDIA/TensorRT tools/pytorch-quantization/
 * pytorch_quantization/calib/histogram.py `_compute_amax_entropy`): on the 2048-bin |x|
 * histogram with bins[0] := bins[1], for i = 128…2048 compare P = bins[0:i] (outliers Σbins[i:] added to
 * P[i−1]) with Q = bins[0:i] merged into L levels (level of bin j = ⌊j·L/i⌋, i.e. numpy.digitize on
 * linspace(0, i, L+1)) and spread evenly over each level's non-zero bins; KL(P‖Q) = Σ p·ln(p/q) on the
 * normalised P, Q; amax = edge[i*] for the LAST i* of minimal KL; L = 2^(bits−1), range [−amax, amax].
 *
 * Asymmetric specs (L = 2^bits), onnxq's own variant: a tensor with min ≥ 0 (max ≤ 0) runs the same search
 * on its one side → [0, amax] ([−amax, 0]); that is pytorch-quantization's unsigned=True. A mixed-sign
 * tensor searches the windows of search.ts (the observed [min, max] scaled by a common factor, snapped to
 * signed bins) with the outliers below / above folded into the window's first / last bin (an empty end bin
 * that receives them counts as non-empty when Q is spread, see windowDivergence), and returns the window's
 * edges clamped to [min, max]. No zero-spike suppression there.
 *
 * Deviation: when Q is empty (no counts below i) NVIDIA's KL is NaN and np.argmin then picks the NaN;
 * we treat it as +∞ (that candidate is never chosen unless every candidate is +∞).
 */
import { HistogramObserver } from './histogram.js';
import type { Range, RangeMethod } from './observer.js';
import { START_BIN, clampToObserved, histogramOf, levelsOf, scaledWindows, type BinWindow } from './search.js';

/** Prefix sums over a histogram, so that each level's count and number of non-zero bins is O(1). */
export class HistogramPrefix {
  /** sum[j] = Σ counts[0:j]; nonzero[j] = #{k < j : counts[k] > 0}; ln[j] = ln counts[j] (0 where empty); clnc[j] = Σ c·ln c over [0, j). */
  readonly sum: Float64Array;
  readonly nonzero: Float64Array;
  readonly ln: Float64Array;
  readonly clnc: Float64Array;
  constructor(readonly counts: Float64Array) {
    const n = counts.length;
    this.sum = new Float64Array(n + 1);
    this.nonzero = new Float64Array(n + 1);
    this.ln = new Float64Array(n);
    this.clnc = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      const c = counts[j]!;
      this.sum[j + 1] = this.sum[j]! + c;
      this.nonzero[j + 1] = this.nonzero[j]! + (c > 0 ? 1 : 0);
      this.ln[j] = c > 0 ? Math.log(c) : 0;
      this.clnc[j + 1] = this.clnc[j]! + (c > 0 ? c * this.ln[j]! : 0);
    }
  }

  get total(): number {
    return this.sum[this.counts.length]!;
  }
}

/**
 * KL(P‖Q) for the window of bins [start, start + n) merged into `levels` levels, the mass outside the
 * window added to its first and last bin in P only. +∞ when P has mass where Q has none.
 * `strict` (TensorRT): Q spreads each level over its non-zero bins only, so an empty end bin that receives
 * outliers makes KL +∞. Not strict (onnxq's asymmetric variant): such an end bin counts as non-empty when
 * its level's count is spread, so a window is not rejected just because its edge fell on an empty bin.
 */
export function windowDivergence(pre: HistogramPrefix, start: number, n: number, levels: number, strict = true): number {
  const { counts, sum, nonzero, ln, clnc } = pre;
  // With levels ≥ n every bin is a level of its own (j ↦ ⌊j·L/n⌋ is injective), as with n levels.
  if (levels > n) levels = n;
  const end = start + n;
  const total = pre.total;
  const inside = sum[end]! - sum[start]!;
  if (!(inside > 0)) return Infinity;
  const outLeft = sum[start]!;
  const outRight = total - sum[end]!;
  const first = start;
  const last = end - 1;
  const emptyFirst = outLeft > 0 && counts[first] === 0;
  const emptyLast = outRight > 0 && counts[last] === 0;
  if (strict && (emptyFirst || emptyLast)) return Infinity;

  // acc = Σ_j P_j·(ln P_j − ln Q_j) in counts, Q_j = mean count of j's level over its non-zero bins.
  let acc = 0;
  let lnFirst = 0;
  let lnLast = 0;
  for (let l = 0; l < levels; l++) {
    const a = start + Math.ceil((l * n) / levels);
    const b = start + Math.ceil(((l + 1) * n) / levels);
    if (a >= b) continue;
    let nz = nonzero[b]! - nonzero[a]!;
    if (emptyFirst && a === first) nz++;
    if (emptyLast && b === end && !(emptyFirst && first === last)) nz++;
    if (nz === 0) continue;
    const lnAvg = Math.log((sum[b]! - sum[a]!) / nz); // −∞ for a level with no counts: KL +∞ below
    if (a === first) lnFirst = lnAvg;
    if (b === end) lnLast = lnAvg;
    // Σ_{j in level} c_j·(ln c_j − lnAvg), from prefix sums: O(1) per level instead of per bin.
    acc += clnc[b]! - clnc[a]! - lnAvg * (sum[b]! - sum[a]!);
  }
  // Put the outliers into the end bins of P.
  const fold = (j: number, extra: number, lnAvg: number): void => {
    const c = counts[j]!;
    const p = c + extra;
    acc += p * (Math.log(p) - lnAvg) - (c > 0 ? c * (ln[j]! - lnAvg) : 0);
  };
  if (first === last) {
    if (outLeft + outRight > 0) fold(first, outLeft + outRight, lnFirst);
  } else {
    if (outLeft > 0) fold(first, outLeft, lnFirst);
    if (outRight > 0) fold(last, outRight, lnLast);
  }
  // Normalising P by the total and Q by the window's count: KL = acc/total + ln(inside/total).
  return acc / total + Math.log(inside / total);
}

/**
 * TensorRT's search on an |x| histogram: returns i* ∈ [startBin, bins] (amax = edge[i*]) and its KL.
 * `abs` is not modified (bins[0] := bins[1] is applied to a copy).
 */
export function entropyAbsSearch(abs: Float64Array, levels: number, startBin = START_BIN, maxClipped = 1): { bin: number; divergence: number } {
  const bins = Float64Array.from(abs);
  if (bins.length > 1) bins[0] = bins[1]!;
  const pre = new HistogramPrefix(bins);
  let best = Infinity;
  let bin = bins.length;
  const total = pre.total;
  for (let i = Math.min(startBin, bins.length); i <= bins.length; i++) {
    if (total - pre.sum[i]! > maxClipped * total) continue;
    let kl = windowDivergence(pre, 0, i, levels);
    if (kl !== kl) kl = Infinity;
    if (kl <= best) {
      // ≤: the last of equal minima, as NVIDIA's argmin over the reversed list.
      best = kl;
      bin = i;
    }
  }
  return { bin, divergence: best };
}

/** onnxq's asymmetric search over scaled windows of the signed histogram: the window of least KL (first of equals). */
export function entropyWindowSearch(h: HistogramObserver, windows: readonly BinWindow[], levels: number, maxClipped = 1): BinWindow | undefined {
  const pre = new HistogramPrefix(h.counts);
  let best = Infinity;
  let pick: BinWindow | undefined;
  const total = pre.total;
  for (const w of windows) {
    if (total - (pre.sum[w.start + w.n]! - pre.sum[w.start]!) > maxClipped * total) continue;
    const kl = windowDivergence(pre, w.start, w.n, levels, false);
    if (kl < best) {
      best = kl;
      pick = w;
    }
  }
  return pick;
}

/**
 * onnxq's guard: thresholds that clip more than 0.1 % of the values are not candidates. TensorRT's
 * search has a degenerate minimum (KL = 0) when the window holds a single non-empty bin — a tensor
 * whose values all sit away from zero, like a Sigmoid output in [0.09, 0.87], gets amax = 0.09 and is
 * clipped whole — and on tensors whose few large values carry the signal (the squeeze-and-excite
 * outputs of PaddleOCR's recognizer) it clips 0.3–1 % and wrecks the model (7 % of characters read,
 * 97 % with the guard). On bell- or ReLU-shaped tensors the search clips about 0.001 % (Gaussian:
 * amax ≈ 4.6σ), so the guard does not change TensorRT's answer there.
 */
export const MAX_CLIPPED = 0.001;

export const entropy: RangeMethod = {
  name: 'entropy',
  // TensorRT's bins: 2048 |x|-bins over exactly [0, max |x|], which only a second pass can give.
  needs: { histogram: true, fixedHistogram: true },
  range(stats, spec): Range {
    const h = histogramOf(stats, 'entropy');
    if (!(h instanceof HistogramObserver)) return h;
    const levels = levelsOf(spec);
    const abs = () => h.absEdge(entropyAbsSearch(h.absHistogram(), levels, START_BIN, MAX_CLIPPED).bin);
    if (spec.symmetric) {
      const t = abs();
      return { min: -t, max: t };
    }
    if (stats.min >= 0) return { min: 0, max: Math.min(abs(), stats.max) };
    if (stats.max <= 0) return { min: Math.max(-abs(), stats.min), max: 0 };
    const w = entropyWindowSearch(h, scaledWindows(h, stats.min, stats.max), levels, MAX_CLIPPED);
    if (!w) return clampToObserved({ min: stats.min, max: stats.max }, stats);
    return clampToObserved({ min: h.edge(w.start), max: h.edge(w.start + w.n) }, stats);
  },
};
