/**
 * One offline-mode memory measurement, run in its own process by bench/mode-memory.ts:
 *   node dist/bench/mode-memory-child.js <model.onnx> <out.onnx> '<OfflineFileOptions as JSON>'
 * Quantizes the file as the CLI does (quantizeFileOffline, validation on) and prints one JSON line:
 * the peak resident set (VmHWM), the resident set before the model was read, and the wall time.
 */
import { quantizeFileOffline, type OfflineFileOptions } from '../src/index.js';
import { procStatus } from './proc-status.js';

export interface ModeMemoryResult {
  peakRssBytes: number;
  rssBeforeBytes: number;
  wallMs: number;
  sqnr?: number;
}

async function main(): Promise<void> {
  const [input, output, json] = process.argv.slice(2) as [string, string, string];
  const rssBeforeBytes = procStatus('VmRSS');
  const start = performance.now();
  const r = await quantizeFileOffline(input, output, JSON.parse(json) as OfflineFileOptions);
  const result: ModeMemoryResult = {
    peakRssBytes: procStatus('VmHWM'),
    rssBeforeBytes,
    wallMs: performance.now() - start,
    ...(r.validation ? { sqnr: Math.min(...r.validation.outputs.map((o) => o.sqnr)) } : {}),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
