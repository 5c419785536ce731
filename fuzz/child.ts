/**
 * The fuzz driver's worker: runs mutants [start, end) of every seed and prints one JSON outcome per
 * line, so that the driver knows which mutant was running should this process hang or die.
 *   node dist/fuzz/child.js <fuzz seed> <start> <end> <folder>
 */
import '../src/node/runtime.js';
import { runMutant, seeds } from './run.js';

const [fuzzSeed, start, end, dir] = process.argv.slice(2) as [string, string, string, string];
const all = seeds();
for (let i = Number(start); i < Number(end); i++) {
  const seed = all[i % all.length]!;
  process.stdout.write(`start ${i}\n`);
  const outcome = await runMutant(seed, Number(fuzzSeed), Math.floor(i / all.length), dir);
  process.stdout.write(JSON.stringify({ ...outcome, index: i }) + '\n');
}
