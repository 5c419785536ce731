/**
 * How far a quantized tensor is from its float reference x:
 * - SQNR = 10·log10(Σx² / Σ(x − x̂)²) dB (ORT qdq_loss_debug, PyTorch torch/ao/ns), higher is better, +∞ when equal;
 * - cosine = ⟨x, x̂⟩ / (‖x‖‖x̂‖) (PPQ, PyTorch ns, MNN's debug mode, EasyQuant);
 * - MSE = Σ(x − x̂)²/n, and the largest |x − x̂|;
 * - PPQ's noise-to-signal ratio ("SNR" in ppq/quantization/measure/norm.py): Σ(x̂ − x)²/(Σx² + 1e-7) per
 *   sample, averaged over the samples; lower is better, and for one sample −10·log10 of it is the SQNR;
 * - top-1 agreement = share of rows whose argmax over the last axis matches.
 */

/** Running sums, so that SQNR and cosine can be accumulated over many samples. */
export class ErrorAccumulator {
  signal = 0;
  noise = 0;
  dot = 0;
  testNorm = 0;
  count = 0;
  maxAbsError = 0;
  /** Σ over samples (add() calls) of each one's noise ÷ (signal + 1e-7), and how many there were. */
  private ratios = 0;
  private samples = 0;

  add(reference: ArrayLike<number>, test: ArrayLike<number>): void {
    if (reference.length !== test.length) throw new Error(`cannot compare tensors of ${reference.length} and ${test.length} values`);
    let signal = 0;
    let noise = 0;
    let dot = 0;
    let tn = 0;
    let maxErr = this.maxAbsError;
    for (let i = 0; i < reference.length; i++) {
      const x = reference[i]!;
      const y = test[i]!;
      const d = x - y;
      signal += x * x;
      noise += d * d;
      dot += x * y;
      tn += y * y;
      const a = d < 0 ? -d : d;
      if (a > maxErr) maxErr = a;
    }
    this.signal += signal;
    this.noise += noise;
    this.dot += dot;
    this.testNorm += tn;
    this.count += reference.length;
    this.maxAbsError = maxErr;
    this.ratios += noise / (signal + 1e-7);
    this.samples++;
  }

  get sqnr(): number {
    if (this.noise === 0) return Infinity;
    if (this.signal === 0) return -Infinity;
    return 10 * Math.log10(this.signal / this.noise);
  }

  get cosine(): number {
    const d = Math.sqrt(this.signal) * Math.sqrt(this.testNorm);
    return d === 0 ? (this.signal === this.testNorm ? 1 : 0) : this.dot / d;
  }

  get mse(): number {
    return this.count ? this.noise / this.count : 0;
  }

  /** PPQ's noise-to-signal ratio, averaged over the samples added. */
  get noiseToSignal(): number {
    return this.samples ? this.ratios / this.samples : 0;
  }

  /** Every metric at once. */
  get metrics(): ErrorMetrics {
    return { sqnr: this.sqnr, cosine: this.cosine, mse: this.mse, maxAbsError: this.maxAbsError, noiseToSignal: this.noiseToSignal };
  }
}

export interface ErrorMetrics {
  sqnr: number;
  cosine: number;
  mse: number;
  maxAbsError: number;
  noiseToSignal: number;
}

/** All the metrics of one tensor against its reference. */
export function errorMetrics(reference: ArrayLike<number>, test: ArrayLike<number>): ErrorMetrics {
  const acc = new ErrorAccumulator();
  acc.add(reference, test);
  return acc.metrics;
}

export function sqnr(reference: ArrayLike<number>, test: ArrayLike<number>): number {
  const acc = new ErrorAccumulator();
  acc.add(reference, test);
  return acc.sqnr;
}

export function cosine(reference: ArrayLike<number>, test: ArrayLike<number>): number {
  const acc = new ErrorAccumulator();
  acc.add(reference, test);
  return acc.cosine;
}

/** Rows (over the last axis of length `classes`) whose argmax agrees, and how many rows there were. */
export function top1Matches(reference: ArrayLike<number>, test: ArrayLike<number>, classes: number): { matches: number; rows: number } {
  const rows = Math.floor(reference.length / classes);
  let matches = 0;
  for (let r = 0; r < rows; r++) {
    if (argmax(reference, r * classes, classes) === argmax(test, r * classes, classes)) matches++;
  }
  return { matches, rows };
}

export function argmax(a: ArrayLike<number>, start = 0, length = a.length - start): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = a[start + i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}
