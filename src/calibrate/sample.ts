/**
 * A bounded uniform sample of a tensor's values over all batches: reservoir sampling, Algorithm R
 * (Vitter 1985, "Random Sampling with a Reservoir", ACM TOMS 11(1)): the first `capacity` values fill the
 * reservoir; the n-th value after that replaces slot j = uniform[0, n) when j < capacity. Every value
 * seen ends in the sample with probability capacity/n. Seeded (random.ts), so runs are reproducible.
 */
import { fail } from '../errors.js';
import type { Observer } from './observer.js';
import { Rng } from './random.js';

export const SAMPLE_CAPACITY = 32768;

export class SampleObserver implements Observer {
  readonly capacity: number;
  /** Values seen (NaN excluded). */
  seen = 0;
  private readonly reservoir: Float32Array;
  private readonly rng: Rng;

  constructor(capacity = SAMPLE_CAPACITY, seed = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) fail('BAD_OPTION', `sample capacity ${capacity} must be a positive integer (default ${SAMPLE_CAPACITY})`);
    this.capacity = capacity;
    this.reservoir = new Float32Array(capacity);
    this.rng = new Rng(seed);
  }

  /** Values kept so far: min(seen, capacity). */
  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  observe(values: Float32Array): void {
    const r = this.reservoir;
    const k = this.capacity;
    let n = this.seen;
    let i = 0;
    const len = values.length;
    for (; i < len && n < k; i++) {
      const v = values[i]!;
      if (v === v) r[n++] = v;
    }
    for (; i < len; i++) {
      const v = values[i]!;
      if (v !== v) continue; // NaN
      n++;
      const j = this.rng.nextBelow(n);
      if (j < k) r[j] = v;
    }
    this.seen = n;
  }

  /**
   * Merge two reservoirs into a uniform sample of the union (weighted by what each has seen): the number
   * taken from this one follows the hypergeometric law of drawing min(capacity, n₁ + n₂) of the n₁ + n₂
   * values without replacement (simulated draw by draw), and that many are picked uniformly at random
   * from each reservoir (a partial Fisher–Yates shuffle, since slot order in Algorithm R is not random).
   */
  merge(other: SampleObserver): void {
    if (other.capacity !== this.capacity) fail('BAD_CALIBRATION', `cannot merge samples of capacity ${this.capacity} and ${other.capacity}`);
    const n1 = this.seen;
    const n2 = other.seen;
    const k = this.capacity;
    if (n2 === 0) return;
    if (n1 + n2 <= k) {
      this.reservoir.set(other.reservoir.subarray(0, n2), n1);
      this.seen = n1 + n2;
      return;
    }
    let left1 = n1;
    let left2 = n2;
    let take1 = 0;
    for (let d = 0; d < k; d++) {
      if (this.rng.nextBelow(left1 + left2) < left1) {
        take1++;
        left1--;
      } else left2--;
    }
    const a = this.pick(this.reservoir.slice(0, this.size), take1);
    const b = this.pick(other.reservoir.slice(0, other.size), k - take1);
    this.reservoir.set(a, 0);
    this.reservoir.set(b, take1);
    this.seen = n1 + n2;
  }

  /** m values chosen uniformly without replacement from `from` (shuffled in place). */
  private pick(from: Float32Array, m: number): Float32Array {
    for (let i = 0; i < m; i++) {
      const j = i + this.rng.nextBelow(from.length - i);
      const t = from[i]!;
      from[i] = from[j]!;
      from[j] = t;
    }
    return from.subarray(0, m);
  }

  /** A copy of the sample (length min(seen, capacity)). */
  values(): Float32Array {
    return this.reservoir.slice(0, this.size);
  }
}
