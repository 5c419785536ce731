/**
 * The mutation fuzzer in small: 300 mutants of the fuzz seeds (two models built here, PaddleOCR's
 * direction classifier from npm) through inspect and every mode. Each must end as a success or as an
 * OnnxqError of one line, leaving no file behind. `npm run fuzz` runs 10,000 in worker processes,
 * where hangs and native crashes are caught too.
 */
import { describe, expect, it } from 'vitest';
import { mutate, MUTATORS } from '../../fuzz/mutate.js';
import { runMutant, seeds, writeCalibration, type Outcome } from '../../fuzz/run.js';
import { tempDir } from '../helpers/temp.js';

describe('mutation fuzzing', () => {
  it('the same seed and number give the same mutant; every mutator changes the bytes', () => {
    const [mlp] = seeds();
    for (let i = 0; i < 60; i++) expect(mutate(mlp!.bytes, 5, i).bytes).toEqual(mutate(mlp!.bytes, 5, i).bytes);
    const changed = new Set(Array.from({ length: 60 }, (_, i) => mutate(mlp!.bytes, 5, i)).filter((m) => Buffer.compare(Buffer.from(m.bytes), Buffer.from(mlp!.bytes)) !== 0).map((m) => m.mutator));
    expect([...changed].sort()).toEqual([...MUTATORS].sort());
  });

  it('300 mutants: successes or one-line onnxq errors, nothing left behind', async () => {
    const dir = tempDir('onnxq-fuzz-');
    const all = seeds();
    writeCalibration(dir, all);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 300; i++) outcomes.push(await runMutant(all[i % all.length]!, 1, Math.floor(i / all.length), dir));
    expect(outcomes.filter((o) => o.result === 'bug').map((o) => `${o.seed} #${o.index} ${o.mutator} ${o.action}: ${o.message}`)).toEqual([]);
    // The corpus reaches past the decoder: some mutants quantize, some fail in the checks or in onnxruntime.
    const results = new Set(outcomes.map((o) => o.result));
    for (const r of ['ok', 'BAD_MODEL']) expect(results).toContain(r);
  }, 120_000);
});
