/**
 * One memory measurement, run in its own process by bench/memory.ts:
 *   node dist/bench/memory-child.js <det|rec|cls> <samples> <method|render-only> [threads]
 * Calibrates the PaddleOCR model on `samples` samples from a lazy source (each sample rendered when
 * loaded, never kept) and prints one JSON line: peak RSS (VmHWM from /proc/self/status), RSS
 * before calibration, process.memoryUsage() at the end and its peaks seen at each sample.
 * `render-only` loads the same samples twice (as a two-pass calibration does) without calibrating:
 * the memory the rendering itself takes, as a control.
 */
import { loadModelFile, type RangeMethodName } from '../src/index.js';
import { calibrate } from '../src/quantize.js';
import { OCR_MODELS, lazySource, sourceCountFor, type OcrKind } from './ocr-data.js';
import { procStatus } from './proc-status.js';

export interface MemoryChildResult {
  model: OcrKind;
  samples: number;
  method: RangeMethodName | 'render-only';
  threads?: number;
  /** VmHWM at the end: the process's peak resident set. */
  peakRssBytes: number;
  /** VmRSS after loading the model, before calibrating. */
  rssBeforeBytes: number;
  rssEndBytes: number;
  end: NodeJS.MemoryUsage;
  /** Largest values of process.memoryUsage() seen after each sample. */
  peaks: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  loads: number;
  renderMs: number;
  wallMs: number;
}


async function main(): Promise<void> {
  const [kind, n, method, threadsArg] = process.argv.slice(2) as [OcrKind, string, string, string | undefined];
  if (!(kind in OCR_MODELS) || !Number.isInteger(Number(n))) throw new Error('usage: memory-child.js <det|rec|cls> <samples> <method|render-only> [threads]');
  const samples = Number(n);
  const threads = threadsArg ? Number(threadsArg) : undefined;
  const { model } = loadModelFile(OCR_MODELS[kind]);
  const source = lazySource(kind, sourceCountFor(samples));
  const peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const u = process.memoryUsage();
    peaks.rss = Math.max(peaks.rss, u.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, u.heapUsed);
    peaks.external = Math.max(peaks.external, u.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, u.arrayBuffers);
  };
  const rssBeforeBytes = procStatus('VmRSS');
  const start = performance.now();
  if (method === 'render-only') {
    for (let pass = 0; pass < 2; pass++)
      for (let i = 0; i < samples; i++) {
        await source.load(i);
        sample();
      }
  } else {
    await calibrate(model, source, { methods: [method as RangeMethodName], calibSamples: samples, ...(threads ? { threads } : {}), onProgress: sample });
  }
  const wallMs = performance.now() - start;
  const result: MemoryChildResult = {
    model: kind, samples, method: method as MemoryChildResult['method'], ...(threads ? { threads } : {}),
    peakRssBytes: procStatus('VmHWM'), rssBeforeBytes, rssEndBytes: procStatus('VmRSS'),
    end: process.memoryUsage(), peaks, loads: source.stats.loads, renderMs: source.stats.renderMs, wallMs,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
