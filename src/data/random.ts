/**
 * A small seeded pseudo-random generator, so every sample selection is reproducible.
 * Algorithm: mulberry32 (a 32-bit counter passed through an integer mixer, by Tommy Ettinger,
 * public domain): state += 0x6D2B79F5; z = mix(state), where mix is two xorshift-multiply rounds.
 */
import { fail } from '../errors.js';

export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** An integer in [0, n), for 0 < n ≤ 2^32. */
  nextInt(n: number): number;
}

export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed))
    fail('BAD_OPTION', `the random seed must be an integer; got ${seed}. Pass --seed with a whole number, e.g. --seed 0.`);
  let state = Number(BigInt.asUintN(32, BigInt(seed)));
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    // Multiply-shift: maps 32 random bits onto [0, n) without floating-point division.
    nextInt: (n: number) => Math.floor((nextUint32() / 0x1_0000_0000) * n),
  };
}

/** Fisher–Yates shuffle of 0..n-1 driven by `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
