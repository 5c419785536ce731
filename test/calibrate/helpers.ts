/** Test helpers: seeded distributions, and a literal (slow) rendering of NVIDIA's entropy calibration. */
import { Rng } from '../../src/data/random.js';
import { HistogramObserver } from '../../src/calibrate/histogram.js';
import { MinMaxObserver } from '../../src/calibrate/minmax.js';
import { MovingAverageObserver } from '../../src/calibrate/moving-average.js';
import { SampleObserver } from '../../src/calibrate/sample.js';

export function gaussian(n: number, seed: number, mean = 0, sigma = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng.nextFloat(); // (0, 1]
    const v = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + sigma * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + sigma * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function laplace(n: number, seed: number, b = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.nextFloat() - 0.5;
    out[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u) || Number.MIN_VALUE);
  }
  return out;
}

export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.nextFloat();
  return out;
}

export function relu(x: Float32Array): Float32Array {
  return x.map((v) => (v > 0 ? v : 0));
}

/** Gaussian with `count` outliers of magnitude `size`·σ (alternating sign) at seeded positions. */
export function withOutliers(x: Float32Array, count: number, size: number, seed: number): Float32Array {
  const out = Float32Array.from(x);
  const rng = new Rng(seed);
  for (let k = 0; k < count; k++) out[rng.nextBelow(out.length)] = (k % 2 ? -1 : 1) * size * (1 + rng.nextFloat());
  return out;
}

/** Splits x into `parts` consecutive batches of (nearly) equal length. */
export function batches(x: Float32Array, parts: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let p = 0; p < parts; p++) out.push(x.subarray(Math.floor((p * x.length) / parts), Math.floor(((p + 1) * x.length) / parts)));
  return out;
}

/** Every observer over the batches, as calibration does: min/max, EMA and sample in one pass, then a histogram over the exact range. */
export function observeAll(parts: Float32Array[], sample = new SampleObserver()) {
  const m = new MinMaxObserver();
  const e = new MovingAverageObserver();
  for (const p of parts) {
    m.observe(p);
    e.observe(p);
    sample.observe(p);
  }
  const h = HistogramObserver.forRange(m.min, m.max);
  for (const p of parts) h.observe(p);
  return { m, e, h, s: sample };
}

// ---------------------------------------------------------------------------------------------------
// NVIDIA pytorch-quantization `_compute_amax_entropy`, step by step with numpy/scipy semantics spelled
// out (slow on purpose: no prefix sums, fresh arrays every candidate). Returns the index into the bin
// edges (amax = edges[index]).

/** numpy.linspace(start, stop, num): arange(num)·step + start, last element set to stop. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const y: number[] = [];
  for (let k = 0; k < num; k++) y.push(k * step + start);
  y[num - 1] = stop;
  return y;
}

/** numpy.digitize(x, bins) for increasing bins, right=False: i with bins[i−1] ≤ x < bins[i]. */
function digitize(x: number, bins: number[]): number {
  let i = 0;
  while (i < bins.length && bins[i]! <= x) i++;
  return i;
}

/** scipy.special.rel_entr summed after scipy.stats.entropy's normalisation (natural log). */
function scipyEntropy(pk: number[], qk: number[]): number {
  const sp = pk.reduce((a, b) => a + b, 0);
  const sq = qk.reduce((a, b) => a + b, 0);
  let s = 0;
  for (let j = 0; j < pk.length; j++) {
    const x = pk[j]! / sp;
    const y = qk[j]! / sq;
    let r: number;
    if (Number.isNaN(x) || Number.isNaN(y)) r = NaN;
    else if (x > 0 && y > 0) r = x * Math.log(x / y);
    else if (x === 0 && y >= 0) r = 0;
    else r = Infinity;
    s += r;
  }
  return s;
}

/** numpy.argmin: first index of the minimum; a NaN wins at its first occurrence. */
function argmin(a: number[]): number {
  let best = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]!)) return i;
    if (a[i]! < a[best]!) best = i;
  }
  return best;
}

export function nvidiaEntropyIndex(calibHist: ArrayLike<number>, numBits: number, unsigned: boolean, stride = 1, startBin = 128): number {
  const bins = Array.from(calibHist);
  bins[0] = bins[1]!;
  const nbins = 1 << (numBits - 1 + (unsigned ? 1 : 0));
  const divergences: number[] = [];
  for (let i = startBin; i <= bins.length; i += stride) {
    const newDensityCounts = new Array<number>(nbins).fill(0);
    const space = linspace(0, i, nbins + 1);
    const digitized: number[] = [];
    for (let idx = 0; idx < i; idx++) digitized.push(digitize(idx, space) - 1);
    for (let idx = 0; idx < i; idx++) if (bins[idx] === 0) digitized[idx] = -1;
    for (let idx = 0; idx < i; idx++) if (digitized[idx] !== -1) newDensityCounts[digitized[idx]!]! += bins[idx]!;
    const counter = new Map<number, number>();
    for (const d of digitized) counter.set(d, (counter.get(d) ?? 0) + 1);
    for (const [key, val] of counter) if (key !== -1) newDensityCounts[key] = newDensityCounts[key]! / val;
    const newDensity = new Array<number>(i).fill(0);
    for (let idx = 0; idx < i; idx++) if (digitized[idx] !== -1) newDensity[idx] = newDensityCounts[digitized[idx]!]!;
    const referenceDensity = bins.slice(0, i);
    referenceDensity[i - 1] = referenceDensity[i - 1]! + bins.slice(i).reduce((a, b) => a + b, 0);
    divergences.push(scipyEntropy(referenceDensity, newDensity));
  }
  const reversed = [...divergences].reverse();
  const lastArgmin = divergences.length - 1 - argmin(reversed);
  return lastArgmin * stride + startBin;
}
