import { fail } from '../errors.js';

/**
 * onnxq's one seeded pseudo-random generator, so that sample selection, reservoirs and rendered demo
 * data are deterministic: the same seed gives the same numbers on every run and platform. splitmix32: a Weyl sequence (increment 0x9e3779b9, ⌊2³²/φ⌋)
 * passed through MurmurHash3's 32-bit finalizer (fmix32: xor-shift 16, ×0x85ebca6b, xor-shift 13,
 * ×0xc2b2ae35, xor-shift 16). Not for cryptography.
 */
export class Rng {
  private state: number;

  constructor(seed = 0x5eed) {
    this.state = seed | 0;
  }

  /** A uniform integer in [0, 2³²). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform float in the open interval (0, 1) (safe to take the log of). */
  nextOpen(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** A uniform integer in [0, n), n ≤ 2⁵³. Uses one 32-bit draw while n ≤ 2³² (bias below n/2³², negligible here). */
  nextBelow(n: number): number {
    if (n <= 4294967296) return Math.floor((this.nextUint32() * n) / 4294967296);
    return Math.floor(this.nextFloat() * n);
  }

  /** A standard normal variate (Box–Muller). */
  nextNormal(): number {
    return Math.sqrt(-2 * Math.log(this.nextOpen())) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /**
   * A Gamma(shape, 1) variate for shape ≥ 1 (Marsaglia & Tsang 2000, "A Simple Method for Generating Gamma
   * Variables", ACM TOMS 26(3)): d = shape − ⅓, c = 1/√(9d); v = (1 + c·x)³ for normal x, accepted when
   * ln u < x²/2 + d − d·v + d·ln v; returns d·v.
   */
  nextGamma(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.nextNormal();
      const t = 1 + c * x;
      if (t <= 0) continue;
      const v = t * t * t;
      if (Math.log(this.nextOpen()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** The generator's state, to save and resume a sequence. */
  get seed(): number {
    return this.state;
  }
}

/** A generator for a user-given seed (e.g. --seed), which must be a whole number. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed))
    fail('BAD_OPTION', `the random seed must be an integer; got ${seed}. Pass --seed with a whole number, e.g. --seed 0.`);
  return new Rng(Number(BigInt.asIntN(32, BigInt(seed))));
}

/** Fisher–Yates shuffle of 0..n-1 driven by `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
