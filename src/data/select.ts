/**
 * Which samples calibrate and which are held out to measure the quantized model's error.
 * Held-out: min(64, max(1, round(count / 10))) samples picked with a fixed internal seed, so runs
 * with different --seed values are validated on the same samples. Calibration: up to `wanted` of
 * the remaining samples, picked by a shuffle seeded with `seed`. Both lists are returned in
 * ascending order (reads walk files forward). A single-sample source serves as both. Without
 * `holdOut` (no validation wanted) every sample may calibrate.
 */
import { fail } from '../errors.js';
import { createRng, permutation } from './random.js';

export const DEFAULT_CALIBRATION_SAMPLES = 512;
export const MAX_HELD_OUT = 64;
/** Seed of the held-out pick; fixed so that the held-out set depends only on the sample count. */
const HELD_OUT_SEED = 0x5eed_0d47;

export interface Selection {
  /** Indices of the samples to calibrate on, ascending. */
  calibration: number[];
  /** Indices of the samples kept aside for validation, ascending; disjoint from `calibration` unless `shared`. */
  heldOut: number[];
  /** True when the source has one sample, which then serves both calibration and validation. */
  shared: boolean;
}

export function selectSamples(count: number, wanted: number = DEFAULT_CALIBRATION_SAMPLES, seed = 0, holdOut = true): Selection {
  if (!Number.isSafeInteger(count) || count < 1)
    fail('BAD_CALIBRATION', `the calibration data holds no samples (count ${count}). Give at least one sample with --calib.`);
  if (!Number.isSafeInteger(wanted) || wanted < 1)
    fail('BAD_OPTION', `the number of calibration samples must be a positive integer; got ${wanted}. Pass e.g. --calib-samples 512.`);
  if (count === 1) return { calibration: [0], heldOut: holdOut ? [0] : [], shared: holdOut };
  if (!holdOut) {
    const order = permutation(count, createRng(seed));
    const calibration = Array.from(order.subarray(0, Math.min(wanted, count))).sort((a, b) => a - b);
    return { calibration, heldOut: [], shared: false };
  }

  const held = Math.min(MAX_HELD_OUT, Math.max(1, Math.round(count / 10)));
  const heldPick = permutation(count, createRng(HELD_OUT_SEED)).subarray(0, held);
  const isHeld = new Uint8Array(count);
  for (const i of heldPick) isHeld[i] = 1;

  const rest = new Uint32Array(count - held);
  for (let i = 0, k = 0; i < count; i++) if (!isHeld[i]) rest[k++] = i;
  const order = permutation(rest.length, createRng(seed));
  const take = Math.min(wanted, rest.length);
  const calibration: number[] = [];
  for (let k = 0; k < take; k++) calibration.push(rest[order[k]!]!);

  const ascending = (a: number, b: number) => a - b;
  return { calibration: calibration.sort(ascending), heldOut: Array.from(heldPick).sort(ascending), shared: false };
}
