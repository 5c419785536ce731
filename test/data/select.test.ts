import { describe, expect, it } from 'vitest';
import { selectSamples } from '../../src/data/select.js';
import { createRng, permutation } from '../../src/data/random.js';
import { expectError } from './fixtures.js';

describe('selectSamples', () => {
  it('is deterministic for a seed and varies with it', () => {
    const a = selectSamples(1000, 100, 7);
    expect(selectSamples(1000, 100, 7)).toEqual(a);
    expect(selectSamples(1000, 100, 8).calibration).not.toEqual(a.calibration);
  });

  it('keeps held-out and calibration disjoint, sorted and of the documented sizes', () => {
    for (const [count, wanted, held] of [[2, 512, 1], [10, 512, 1], [15, 512, 2], [100, 512, 10], [1000, 100, 64], [5000, 512, 64]] as const) {
      const s = selectSamples(count, wanted, 3);
      expect(s.shared).toBe(false);
      expect(s.heldOut.length).toBe(held);
      expect(s.calibration.length).toBe(Math.min(wanted, count - held));
      const all = new Set([...s.calibration, ...s.heldOut]);
      expect(all.size).toBe(s.calibration.length + s.heldOut.length);
      for (const i of all) expect(i >= 0 && i < count).toBe(true);
      expect([...s.calibration].sort((x, y) => x - y)).toEqual(s.calibration);
      expect([...s.heldOut].sort((x, y) => x - y)).toEqual(s.heldOut);
    }
  });

  it('holds out the same samples whatever the seed or wanted count', () => {
    const held = selectSamples(300, 512, 0).heldOut;
    expect(selectSamples(300, 50, 12345).heldOut).toEqual(held);
  });

  it('uses a single sample for both and says so', () => {
    expect(selectSamples(1, 512, 0)).toEqual({ calibration: [0], heldOut: [0], shared: true });
  });

  it('defaults to 512 calibration samples', () => {
    expect(selectSamples(10_000).calibration.length).toBe(512);
  });

  it('refuses empty sources and bad counts', async () => {
    await expectError(() => selectSamples(0), 'BAD_CALIBRATION', 'no samples');
    await expectError(() => selectSamples(10, 0), 'BAD_OPTION', 'positive integer');
    await expectError(() => selectSamples(10, 5, 1.5), 'BAD_OPTION', 'seed');
  });
});

describe('seeded random numbers', () => {
  it('repeats for a seed and shuffles fairly', () => {
    const a = createRng(42);
    const b = createRng(42);
    for (let i = 0; i < 5; i++) expect(a.nextUint32()).toBe(b.nextUint32());
    const p = permutation(50, createRng(1));
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    // Each position of a 4-element shuffle gets each value about a quarter of the time.
    const hits = new Uint32Array(16);
    const rng = createRng(9);
    for (let t = 0; t < 8000; t++) permutation(4, rng).forEach((v, pos) => hits[pos * 4 + v]!++);
    for (const h of hits) expect(Math.abs(h - 2000)).toBeLessThan(200);
  });
});
