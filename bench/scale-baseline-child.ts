/**
 * The scale section's baseline, in its own process so that it pays Node's and onnxruntime's start-up
 * as the CLI run it is compared with does:
 *   node dist/bench/scale-baseline-child.js <model.onnx> <samples.npy> <threads>
 * onnxruntime-node's InferenceSession.create on the file (graph optimization 'all', as a user opens
 * it) and one float inference per row of the .npy, nothing else. Prints one JSON line with its inner
 * times; the parent times the whole process.
 */
import { openNpy } from '../src/data/npy-file.js';
import { run, session } from './ort.js';

export interface BaselineResult {
  sessionMs: number;
  inferenceMs: number;
  samples: number;
}

async function main(): Promise<void> {
  const [model, npy, threads] = process.argv.slice(2) as [string, string, string];
  const rows = openNpy(npy);
  const dims = [1, ...rows.dims.slice(1)];
  let t = performance.now();
  const s = await session(model, { threads: Number(threads) });
  const sessionMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < rows.dims[0]!; i++) await run(s, { [s.inputNames[0]!]: { dtype: rows.dtype, dims, data: rows.readRow(i) } });
  const result: BaselineResult = { sessionMs, inferenceMs: performance.now() - t, samples: rows.dims[0]! };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
