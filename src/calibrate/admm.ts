/**
 * MNN's ADMM scale (alibaba/MNN tools/quantization calibration.cpp and quantizeWeight.cpp):
 * alternating least squares for the step α of q = clamp(round(x/α), lo, hi): q given α, then
 * α = Σq·x / Σq² given q, from α₀ = max|x|/(hi·2.5) for activations (≤ 300 rounds) and max|w|/(hi·1.25) for
 * weights (≤ 1000 rounds, per output channel); MNN has hi = 127. We stop once α moves by < 1e-7 relatively
 * (an unchanged q gives the same α). Rounding is half to even, as QuantizeLinear does.
 * MNN fits activations on all calibration samples at once; onnxq fits them on the bounded reservoir sample
 * of SampleObserver (sample.ts), so memory stays fixed however many samples pass. For an asymmetric spec
 * and data of both signs onnxq fits a zero point too (admmAsymmetricRange).
 */
import { fail } from '../errors.js';
import { axisLayout, forEachChannelRun } from '../quant/quantize.js';
import { qrange, type QuantSpec } from '../quant/spec.js';
import type { Range, RangeMethod } from './observer.js';
import { observedRange } from './minmax.js';

export const ADMM_ACTIVATION = { divisor: 2.5, iterations: 300 } as const;
export const ADMM_WEIGHT = { divisor: 1.25, iterations: 1000 } as const;
const TOLERANCE = 1e-7;

/**
 * The integer grid ADMM fits and the real range that reproduces its step: clamp bounds [lo, hi] around
 * the zero point, and factors so that scaleZeroPoint(rmin·α, rmax·α, spec) gives scale α.
 * Asymmetric spec and data ≥ 0: q ∈ [0, qmax − qmin], range [0, (qmax − qmin)·α].
 * Otherwise: q ∈ ±⌊h⌋ with h = (qmax − qmin)/2 (±127 for 8 bits), range [−h·α, h·α].
 */
export function admmGrid(spec: QuantSpec, nonNegative: boolean): { lo: number; hi: number; rmin: number; rmax: number } {
  const { qmin, qmax } = qrange(spec);
  if (!spec.symmetric && nonNegative) return { lo: 0, hi: qmax - qmin, rmin: 0, rmax: qmax - qmin };
  const h = (qmax - qmin) / 2;
  return { lo: -Math.floor(h), hi: Math.floor(h), rmin: -h, rmax: h };
}

/** The ADMM step for values x on the integer grid [lo, hi], starting from alpha0. 0 when x is all zeros. */
export function admmScale(x: Float32Array, lo: number, hi: number, alpha0: number, iterations: number): number {
  if (!(alpha0 > 0) || !Number.isFinite(alpha0)) return 0;
  // Each round needs Σq·x and Σq² over the values. With many more values than grid levels, sort them
  // once: then a level's count and sum come from two binary searches and a prefix sum.
  const sums = sumsFor(x, lo, hi);
  let alpha = alpha0;
  for (let it = 0; it < iterations; it++) {
    const { sqx, sqq } = sums(alpha);
    if (sqq === 0) break;
    const next = sqx / sqq;
    if (!(next > 0)) break;
    const stable = Math.abs(next - alpha) < TOLERANCE * alpha;
    alpha = next;
    if (stable) break;
  }
  return alpha;
}

function sumsFor(x: Float32Array, lo: number, hi: number): Sums {
  return x.length > 8 * (hi - lo + 1) ? levelSums(x, lo, hi) : directSums(x, lo, hi);
}

/**
 * ADMM on an asymmetric grid, for an asymmetric spec and data of both signs (onnxq's extension:
 * MNN's grid is symmetric, which wastes half of it on skewed data): q = clamp(round(x/α) + z, qmin,
 * qmax), then α and z by least squares x ≈ α·(q − z), alternately. Returns the range whose
 * scaleZeroPoint gives (α, z).
 */
export function admmAsymmetricRange(x: Float32Array, min: number, max: number, spec: QuantSpec, settings: { divisor: number; iterations: number }): Range {
  const { qmin, qmax } = qrange(spec);
  const n = x.length;
  let sx = 0;
  for (let i = 0; i < n; i++) sx += x[i]!;
  let alpha = (max - min) / ((qmax - qmin) * (settings.divisor / 2));
  let z = Math.min(qmax, Math.max(qmin, Math.round((qmin + qmax) / 2 - (min + max) / (2 * alpha))));
  const sums = sumsFor(x, qmin - qmax, qmax - qmin);
  for (let it = 0; it < settings.iterations; it++) {
    // t = q − z over the grid shifted by z; moments of q = t + z follow.
    const { sqx: stx, sqq: stt, sq: st } = sums(alpha, qmin - z, qmax - z);
    const sq = st + n * z;
    const sqq = stt + 2 * z * st + n * z * z;
    const sqx = stx + z * sx;
    const den = n * sqq - sq * sq;
    if (!(den > 0)) break;
    const a = (n * sqx - sq * sx) / den;
    if (!(a > 0)) break;
    const b = (sx - a * sq) / n;
    const nextZ = Math.min(qmax, Math.max(qmin, Math.round(-b / a)));
    const stable = Math.abs(a - alpha) < TOLERANCE * alpha && nextZ === z;
    alpha = a;
    z = nextZ;
    if (stable) break;
  }
  return { min: (qmin - z) * alpha, max: (qmax - z) * alpha };
}

type Sums = (alpha: number, lo?: number, hi?: number) => { sqx: number; sqq: number; sq: number };

/** Σq·x and Σq² with q = clamp(roundHalfEven(x/α), lo, hi), one value at a time. */
function directSums(x: Float32Array, lo0: number, hi0: number): Sums {
  return (alpha, lo = lo0, hi = hi0) => {
    const inv = 1 / alpha;
    let sqx = 0;
    let sqq = 0;
    let sq = 0;
    for (let i = 0, n = x.length; i < n; i++) {
      const v = x[i]!;
      const t = v * inv;
      let q = Math.floor(t);
      const d = t - q;
      if (d > 0.5 || (d === 0.5 && q % 2 !== 0)) q++;
      if (q < lo) q = lo;
      else if (q > hi) q = hi;
      sqx += q * v;
      sqq += q * q;
      sq += q;
    }
    return { sqx, sqq, sq };
  };
}

/**
 * The same sums level by level on the sorted values: level q holds the values in [(q − ½)α, (q + ½)α),
 * the end levels everything beyond. (A value exactly on a boundary goes up rather than to the even
 * level; such ties have measure zero in real data.)
 */
function levelSums(x: Float32Array, lo0: number, hi0: number): Sums {
  const sorted = Float64Array.from(x).sort();
  const prefix = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) prefix[i + 1] = prefix[i]! + sorted[i]!;
  const firstAtLeast = (b: number): number => {
    let a = 0;
    let z = sorted.length;
    while (a < z) {
      const m = (a + z) >> 1;
      if (sorted[m]! < b) a = m + 1;
      else z = m;
    }
    return a;
  };
  return (alpha, lo = lo0, hi = hi0) => {
    let sqx = 0;
    let sqq = 0;
    let sq = 0;
    let start = 0;
    for (let q = lo; q <= hi && start < sorted.length; q++) {
      const end = q === hi ? sorted.length : firstAtLeast((q + 0.5) * alpha);
      if (end > start) {
        sqx += q * (prefix[end]! - prefix[start]!);
        sqq += q * q * (end - start);
        sq += q * (end - start);
        start = end;
      }
    }
    return { sqx, sqq, sq };
  };
}

function absMax(x: Float32Array): { absmax: number; nonNegative: boolean } {
  let m = 0;
  let neg = false;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < 0) {
      neg = true;
      if (-v > m) m = -v;
    } else if (v > m) m = v;
  }
  return { absmax: m, nonNegative: !neg };
}

/** The ADMM range of one set of values (grid and start as for activations or for weights). */
export function admmRange(x: Float32Array, spec: QuantSpec, settings: { divisor: number; iterations: number }, nonNegative?: boolean): Range {
  const a = absMax(x);
  if (a.absmax === 0) return { min: 0, max: 0 };
  const g = admmGrid(spec, nonNegative ?? a.nonNegative);
  const alpha = admmScale(x, g.lo, g.hi, a.absmax / (g.hi * settings.divisor), settings.iterations);
  return { min: g.rmin * alpha, max: g.rmax * alpha };
}

/**
 * Per-channel (axis set) or per-tensor weight ranges by ADMM, in the shape channelMinMax returns, such
 * that paramsFromRanges with `spec` yields scale α per channel.
 */
export function admmWeightRanges(data: Float32Array, dims: readonly number[], axis: number | undefined, spec: QuantSpec): { min: Float64Array; max: Float64Array } {
  const channels = axis === undefined ? 1 : axisLayout(dims, axis).channels;
  const per = channels === 0 ? 0 : data.length / channels;
  if (!Number.isInteger(per)) fail('BAD_PLAN', `weight of ${data.length} values does not split into ${channels} channels along axis ${axis} of [${dims.join(', ')}]`);
  // Gather each channel's values contiguously (one copy of the weight).
  const byChannel = axis === undefined ? data : new Float32Array(data.length);
  if (axis !== undefined) {
    const fill = new Int32Array(channels);
    forEachChannelRun(dims, axis, (c, start, end) => {
      byChannel.set(data.subarray(start, end), c * per + fill[c]!);
      fill[c] = fill[c]! + (end - start);
    });
  }
  const min = new Float64Array(channels);
  const max = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const r = admmRange(byChannel.subarray(c * per, (c + 1) * per), spec, ADMM_WEIGHT);
    min[c] = r.min;
    max[c] = r.max;
  }
  return { min, max };
}

export const admm: RangeMethod = {
  name: 'admm',
  needs: { sample: true },
  range(stats, spec) {
    if (!stats.sample) fail('BAD_CALIBRATION', `the admm method needs a value sample gathered during calibration (see needsOf)`);
    if (stats.sample.length === 0) return observedRange(stats);
    if (!spec.symmetric && stats.min < 0 && stats.max > 0) return admmAsymmetricRange(stats.sample, stats.min, stats.max, spec, ADMM_ACTIVATION);
    return admmRange(stats.sample, spec, ADMM_ACTIVATION, stats.min >= 0);
  },
};
