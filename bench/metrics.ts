/**
 * Quality measures the bench accumulates over many samples: SQNR and cosine of a test output against
 * its float reference (SQNR = 10·log10(Σx² / Σ(x − x̂)²)), PSNR of two images in [0, 1], and the edit
 * distance behind character accuracy (1 − Σ distance / Σ reference length).
 */

export class Agreement {
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private testNorm = 0;

  add(reference: Float32Array, test: Float32Array): void {
    if (reference.length !== test.length) throw new Error(`cannot compare outputs of ${reference.length} and ${test.length} values`);
    let s = 0, n = 0, d = 0, t = 0;
    for (let i = 0; i < reference.length; i++) {
      const a = reference[i]!, b = test[i]!, e = a - b;
      s += a * a;
      n += e * e;
      d += a * b;
      t += b * b;
    }
    this.signal += s;
    this.noise += n;
    this.dot += d;
    this.testNorm += t;
  }

  get sqnr(): number {
    return this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise);
  }

  get cosine(): number {
    const den = Math.sqrt(this.signal * this.testNorm);
    return den === 0 ? 1 : this.dot / den;
  }
}

/** PSNR in dB of two images with values in [0, 1] (both clipped to it first), peak 1. */
export function psnr(a: Float32Array, b: Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.min(1, Math.max(0, a[i]!)) - Math.min(1, Math.max(0, b[i]!));
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10(a.length / se);
}

/** Levenshtein distance over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a], y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

export function argmax(a: Float32Array, start = 0, length = a.length - start): number {
  let best = start;
  for (let i = start + 1; i < start + length; i++) if (a[i]! > a[best]!) best = i;
  return best - start;
}
