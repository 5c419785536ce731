/**
 * ACIQ, analytical clipping (Banner, Nahshan and Soudry 2019, "Post training 4-bit quantization of
 * convolutional networks for rapid-deployment", NeurIPS; code: submission2019/cnn-quantization).
 *
 * A Laplace and a Gaussian prior are fitted to the tensor's histogram, and for each the clip α that
 * minimises the prior's expected squared error is found: the clipped tails plus the rounding noise of
 * a step Δ, Δ²/12. With N levels over [c − α, c + α] (c the centre) Δ = 2α/N, so rounding costs
 * α²/(3N²); over [0, α] (a one-sided tensor, e.g. after a Relu, fitted on |x|) Δ = α/N and it costs
 * α²/(12N²). The tails (both, or the one tail of |x|, which is the same amount) cost
 *   Laplace(b):   2b²·e^(−α/b),                            b = mean |x − c|
 *   Gaussian(σ):  (α² + σ²)·erfc(α/(σ√2)) − ασ·√(2/π)·e^(−α²/(2σ²)),   σ = √mean (x − c)²
 * The paper tabulates the minimisers for symmetric ranges — Laplace α/b = 2.83, 3.89, 5.03, 9.89 at
 * 2, 3, 4, 8 bits; Gaussian α/σ = 1.71, 2.55, 3.92 at 2, 4, 8 bits — and onnxq solves the same
 * equation for any width (the tests check the table). Of the two priors' ranges onnxq keeps the one
 * that quantizes this tensor's histogram with the smaller error (measured as the mse method does),
 * so the prior that fits the data decides.
 *
 * Centre: 0 for symmetric specs; for asymmetric ones the mean, the range [μ − α, μ + α] clamped to the
 * observed [min, max]; a tensor of one sign gets [0, α] (or [−α, 0]) on |x|.
 *
 * onnxq's guard, the one entropy has (entropy.ts MAX_CLIPPED): the range is widened to keep at least
 * 99.9 % of the values. A tensor whose few large values carry the signal fits neither prior — mostly
 * near zero, so b and σ are tiny — and the prior's α would clip that signal away: PaddleOCR's
 * recognizer read 0 % of characters without the guard.
 */
import type { QuantSpec } from '../quant/spec.js';
import { MAX_CLIPPED } from './entropy.js';
import { HistogramObserver } from './histogram.js';
import { HistogramError } from './mse.js';
import { percentileAbs, percentileSigned } from './percentile.js';
import type { Range, RangeMethod, TensorStats } from './observer.js';
import { clampToObserved, histogramOf, levelsOf } from './search.js';

export type Prior = 'laplace' | 'gaussian';

/** Expected error of the tails beyond ±α, per unit of probability mass, for a prior of spread `spread` (b or σ). */
function tails(prior: Prior, alpha: number, spread: number): number {
  if (prior === 'laplace') return 2 * spread * spread * Math.exp(-alpha / spread);
  const t = alpha / spread;
  return (alpha * alpha + spread * spread) * erfc(t / Math.SQRT2) - alpha * spread * Math.sqrt(2 / Math.PI) * Math.exp((-t * t) / 2);
}

/**
 * The α minimising tails + rounding for `levels` levels over a range of width 2α (`oneSided`: α).
 * The error is unimodal in α: golden-section search over (0, 64·spread].
 */
export function optimalClip(prior: Prior, spread: number, levels: number, oneSided = false): number {
  const width = oneSided ? 1 : 2;
  const error = (a: number) => tails(prior, a, spread) + (width * a) ** 2 / (12 * levels * levels);
  const g = (Math.sqrt(5) - 1) / 2;
  let lo = 0;
  let hi = 64 * spread;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let e1 = error(x1);
  let e2 = error(x2);
  for (let i = 0; i < 200 && hi - lo > 1e-9 * spread; i++) {
    if (e1 < e2) {
      hi = x2;
      [x2, e2] = [x1, e1];
      x1 = hi - g * (hi - lo);
      e1 = error(x1);
    } else {
      lo = x1;
      [x1, e1] = [x2, e2];
      x2 = lo + g * (hi - lo);
      e2 = error(x2);
    }
  }
  return (lo + hi) / 2;
}

/** erfc by Numerical Recipes' Chebyshev fit (relative error below 1.2e-7), enough for a clip threshold. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + z / 2);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Mean, mean absolute deviation and standard deviation about `centre` (the mean when undefined), from bin centres. */
function moments(h: HistogramObserver, centre?: number): { mean: number; b: number; sigma: number } {
  let n = 0;
  let s1 = 0;
  for (let j = 0; j < h.bins; j++) {
    n += h.counts[j]!;
    s1 += h.counts[j]! * (h.edge(j) + h.width / 2);
  }
  const mean = n > 0 ? s1 / n : 0;
  const c = centre ?? mean;
  let abs = 0;
  let sq = 0;
  for (let j = 0; j < h.bins; j++) {
    const d = h.edge(j) + h.width / 2 - c;
    abs += h.counts[j]! * Math.abs(d);
    sq += h.counts[j]! * d * d;
  }
  return { mean, b: n > 0 ? abs / n : 0, sigma: n > 0 ? Math.sqrt(sq / n) : 0 };
}

/** The range each prior gives this tensor under `spec`. */
export function aciqRanges(h: HistogramObserver, stats: Pick<TensorStats, 'min' | 'max'>, spec: QuantSpec): Record<Prior, Range> {
  const oneSided = !spec.symmetric && (stats.min >= 0 || stats.max <= 0);
  // levelsOf counts one side of a symmetric spec; ACIQ's N is every level of the range.
  const levels = spec.symmetric ? 2 * levelsOf(spec) : levelsOf(spec);
  const { mean, b, sigma } = moments(h, spec.symmetric || oneSided ? 0 : undefined);
  const keepAbs = percentileAbs(h, 100 * (1 - MAX_CLIPPED));
  const keep = percentileSigned(h, 100 * (1 - MAX_CLIPPED));
  const range = (prior: Prior): Range => {
    const alpha = optimalClip(prior, prior === 'laplace' ? b : sigma, levels, oneSided);
    if (spec.symmetric || oneSided) {
      const t = Math.max(alpha, keepAbs);
      if (spec.symmetric) return { min: -t, max: t };
      return stats.min >= 0 ? { min: 0, max: Math.min(t, stats.max) } : { min: Math.max(-t, stats.min), max: 0 };
    }
    return clampToObserved({ min: Math.min(mean - alpha, keep.min), max: Math.max(mean + alpha, keep.max) }, stats);
  };
  return { laplace: range('laplace'), gaussian: range('gaussian') };
}

export const aciq: RangeMethod = {
  name: 'aciq',
  needs: { histogram: true },
  range(stats, spec): Range {
    const h = histogramOf(stats, 'aciq');
    if (!(h instanceof HistogramObserver)) return h;
    const { laplace, gaussian } = aciqRanges(h, stats, spec);
    if (!(laplace.max > laplace.min) || !(gaussian.max > gaussian.min)) return clampToObserved({ min: stats.min, max: stats.max }, stats);
    const e = new HistogramError(h);
    return e.errorOfRange(gaussian.min, gaussian.max, spec) < e.errorOfRange(laplace.min, laplace.max, spec) ? gaussian : laplace;
  },
};
