/**
 * Percentile clipping on the calibration histogram (ORT calibrate.py HistogramCalibrater
 * compute_percentile, default p = 99.999; pytorch-quantization _compute_amax_percentile, 99.99).
 * Symmetric spec: T = upper edge of the first |x|-bin whose cumulative count reaches p/100 of the total,
 * range [−T, T]. Asymmetric: cut at most (100 − p)/200 of the mass from each tail of the signed
 * histogram, range [lower edge, upper edge] clamped to the observed [min, max].
 *
 * Difference from ORT: ORT takes edge[searchsorted(cdf, p/100)], the *lower* edge of that bin, so it may
 * clip slightly more than 100 − p percent; we take its upper edge, so at least p percent stays inside
 * (T is at most one bin width larger). ORT also clamps the symmetric range to [min, max];
 * that is a no-op once scaleZeroPoint widens it to ±T, so we return ±T.
 */
import { fail } from '../errors.js';
import type { Range, RangeMethod, RangeMethodOptions } from './observer.js';
import { HistogramObserver } from './histogram.js';
import { clampToObserved, histogramOf } from './search.js';

export const DEFAULT_PERCENTILE = 99.999;

export function percentileOption(options: RangeMethodOptions): number {
  const p = options.percentile ?? DEFAULT_PERCENTILE;
  if (!(p > 0 && p <= 100)) fail('BAD_OPTION', `percentile ${p} is outside (0, 100]; typical values are 99.99 to 99.999`);
  return p;
}

/** Symmetric threshold: upper edge of the first |x|-bin where the cumulative count reaches p/100 of all. */
export function percentileAbs(h: HistogramObserver, p: number): number {
  const abs = h.absHistogram();
  // A relative 1e-12 of slack, so that e.g. 999 of 1000 counts as reaching 99.9% despite 0.999·1000 rounding up.
  const target = (p / 100) * h.total * (1 - 1e-12);
  let cum = 0;
  for (let k = 0; k < abs.length; k++) {
    cum += abs[k]!;
    if (cum >= target && cum > 0) return h.absEdge(k + 1);
  }
  return h.absmax;
}

/** Asymmetric range: the widest [edge(a), edge(b)] leaving at most cut·total outside on each side. */
export function percentileSigned(h: HistogramObserver, p: number): Range {
  const c = h.counts;
  const cut = ((100 - p) / 200) * h.total * (1 + 1e-12);
  let lo = 0;
  for (let cum = 0; lo < c.length; lo++) {
    cum += c[lo]!;
    if (cum > cut) break; // mass below edge(lo) is ≤ cut
  }
  let hi = c.length - 1;
  for (let cum = 0; hi >= 0; hi--) {
    cum += c[hi]!;
    if (cum > cut) break; // mass above edge(hi + 1) is ≤ cut
  }
  return { min: h.edge(Math.min(lo, c.length - 1)), max: h.edge(Math.max(hi, 0) + 1) };
}

export const percentile: RangeMethod = {
  name: 'percentile',
  needs: { histogram: true },
  range(stats, spec, options) {
    const p = percentileOption(options);
    const h = histogramOf(stats, 'percentile');
    if (!(h instanceof HistogramObserver)) return h;
    if (spec.symmetric) {
      const t = percentileAbs(h, p);
      return { min: -t, max: t };
    }
    const r = percentileSigned(h, p);
    return clampToObserved(r, stats);
  },
};
