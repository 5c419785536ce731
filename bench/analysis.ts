/**
 * Section 8: the analysis and the mixed-precision search on PaddleOCR det and rec. For each model,
 * the full-int8 model (minmax) is analysed on `samples` rendered samples and the time is set against
 * plain float inference over the same samples; then `quantize` with an output-SQNR budget, its search
 * time against the plain quantization's, what it took out of int8, and the task scores and latency of
 * float, full int8 and the mixed model; and EasyQuant against entropy from one calibration, with its
 * time per layer.
 */
import { analyzeModels, calibrate, loadModelFile, memorySource, quantize, quantizeCalibrated, type QuantizeResult, type Sample } from '../src/index.js';
import { int8Bytes, ocrQuality, type QualityRow } from './int8-vs-float.js';
import { ocrSample, OCR_MODELS, sourceCountFor, type OcrKind } from './ocr-data.js';
import { latencyPair, run, session } from './ort.js';
import { db, ms, table, x } from './report.js';

export interface AnalysisRun {
  model: OcrKind;
  samples: number;
  tensors: number;
  layers: number;
  analysisMs: number;
  phasesMs: Record<string, number>;
  floatMs: number;
  /** analysis ÷ float inference over the same samples (graph-wise and histograms), and per layer-wise run. */
  ratio: number;
  mixed: {
    budgetDb: number;
    startDb: number;
    endDb: number;
    met: boolean;
    tensorsOut: number;
    searchMs: number;
    plainMs: number;
    latency: { floatMs: number; int8Ms: number; mixedMs: number };
  };
  /** Entropy and EasyQuant from one calibration, output SQNR on the held-out samples. */
  easyQuant: { entropyDb: number; eqDb: number; layers: number; msPerLayer: number; totalMs: number; steps: number; samples: number };
  quality: QualityRow[];
}

/** Budgets of the search (output SQNR, dB), a few dB above what full int8 reaches on each model. */
export const MIXED_BUDGETS: Partial<Record<OcrKind, number>> = { rec: 18, det: 16 };

export async function analysisRuns(kinds: OcrKind[], samples: number, calibSamples: number, threads: number | undefined, log: (s: string) => void): Promise<AnalysisRun[]> {
  const out: AnalysisRun[] = [];
  for (const kind of kinds) {
    const file = OCR_MODELS[kind];
    const count = sourceCountFor(calibSamples);
    const all: Sample[] = Array.from({ length: count }, (_, i) => ocrSample(kind, i));
    const source = memorySource(all, `${count} rendered ${kind} samples`);
    log(`analysis: ${kind}, full int8 (minmax) on ${calibSamples} samples`);
    let t = performance.now();
    const full = await quantize(loadModelFile(file).model, source, { calibSamples, threads });
    const plainMs = performance.now() - t;

    log(`analysis: ${kind}, analyzeModels on ${samples} samples`);
    const phasesMs: Record<string, number> = {};
    let phase = 'prepare';
    let mark = performance.now();
    t = mark;
    const report = await analyzeModels(loadModelFile(file).model, full.model, source, {
      samples,
      layerSamples: Math.min(samples, 8),
      threads,
      onProgress: (p) => {
        if (p === phase) return;
        phasesMs[phase] = performance.now() - mark;
        phase = p;
        mark = performance.now();
      },
    });
    phasesMs[phase] = performance.now() - mark;
    const analysisMs = performance.now() - t;
    const floatMs = await floatPerSample(file, all.slice(0, samples), threads);

    const budgetDb = MIXED_BUDGETS[kind] ?? 20;
    log(`analysis: ${kind}, mixed precision to output SQNR ≥ ${budgetDb} dB`);
    t = performance.now();
    const mixed = await quantize(loadModelFile(file).model, source, { calibSamples, threads, budget: { minSqnr: budgetDb } });
    const searchMs = performance.now() - t;
    const mp = mixed.mixedPrecision!;
    const a = await latencyPair(file, int8Bytes(full), all[0]!, 1);
    const b = await latencyPair(file, int8Bytes(mixed), all[0]!, 1);
    log(`analysis: ${kind}, entropy and EasyQuant (defaults: 100 steps, up to 50 samples)`);
    const cal = await calibrate(loadModelFile(file).model, source, { calibSamples, threads, methods: ['entropy'] });
    const entropy = await quantizeCalibrated(cal, { method: 'entropy', threads });
    const eq = await quantizeCalibrated(cal, { method: 'eq', threads });
    const eqReport = eq.easyQuant!;
    log(`analysis: ${kind}, task scores of float, int8 minmax, entropy, eq and mixed`);
    const quality = await ocrQuality(
      kind,
      [['int8 minmax', int8Bytes(full)], ['int8 entropy', int8Bytes(entropy)], ['int8 eq', int8Bytes(eq)], [`mixed ≥${budgetDb} dB`, int8Bytes(mixed)]],
      threads,
    );
    out.push({
      model: kind,
      samples: report.samples,
      tensors: report.tensors.length,
      layers: report.layers.length,
      analysisMs,
      phasesMs,
      floatMs,
      ratio: analysisMs / (floatMs * report.samples),
      mixed: {
        budgetDb,
        startDb: mp.start,
        endDb: mp.end,
        met: mp.met,
        tensorsOut: mp.steps.reduce((n, s) => n + s.nodes.length, 0),
        searchMs,
        plainMs,
        latency: { floatMs: (a.floatMs + b.floatMs) / 2, int8Ms: a.int8Ms, mixedMs: b.int8Ms },
      },
      easyQuant: {
        entropyDb: minSqnr(entropy),
        eqDb: minSqnr(eq),
        layers: eqReport.layers.length,
        msPerLayer: eqReport.msPerLayer,
        totalMs: eqReport.totalMs,
        steps: eqReport.steps,
        samples: eqReport.samples,
      },
      quality,
    });
  }
  return out;
}

function minSqnr(r: QuantizeResult): number {
  return Math.min(...r.validation!.outputs.map((o) => o.sqnr));
}

async function floatPerSample(file: string, samples: Sample[], threads: number | undefined): Promise<number> {
  const s = await session(file, { threads });
  try {
    await run(s, samples[0]!);
    const t = performance.now();
    for (const sample of samples) await run(s, sample);
    return (performance.now() - t) / samples.length;
  } finally {
    await s.release();
  }
}

export function printAnalysis(runs: AnalysisRun[]): void {
  table(
    'Analysis time (analyzeModels: graph-wise, histograms with every method, layer-wise on ≤ 8 samples)',
    ['model', 'samples', 'tensors', 'ranked', 'analysis', 'graph-wise', 'histograms', 'layer-wise', 'float/sample', 'analysis ÷ float × samples', 'layer-wise ÷ (float × tensors × samples)'],
    runs.map((r) => {
      const layerSamples = Math.min(r.samples, 8);
      return [
        r.model,
        r.samples,
        r.tensors,
        r.layers,
        ms(r.analysisMs, 0),
        ms(r.phasesMs['graph-wise'], 0),
        ms(r.phasesMs.histograms, 0),
        ms(r.phasesMs['layer-wise'], 0),
        ms(r.floatMs),
        x(r.ratio, 1),
        x((r.phasesMs['layer-wise'] ?? NaN) / (r.floatMs * (r.layers + 1) * layerSamples)),
      ];
    }),
    ['Layer-wise runs the float model once per ranked tensor and sample (one session, switches fed as an input): its cost per run against one float inference is the last column.'],
  );
  table(
    'Mixed precision (quantize --min-sqnr): search time, what it took out of int8, latency at one thread',
    ['model', 'budget', 'full int8', 'written', 'met', 'tensors out', 'search', 'search ÷ plain quantize', 'latency float', 'int8', 'mixed', 'mixed ÷ float'],
    runs.map((r) => [
      r.model,
      `${r.mixed.budgetDb} dB`,
      db(r.mixed.startDb),
      db(r.mixed.endDb),
      r.mixed.met ? 'yes' : 'no',
      r.mixed.tensorsOut,
      ms(r.mixed.searchMs, 0),
      x(r.mixed.searchMs / r.mixed.plainMs, 1),
      ms(r.mixed.latency.floatMs),
      ms(r.mixed.latency.int8Ms),
      ms(r.mixed.latency.mixedMs),
      x(r.mixed.latency.mixedMs / r.mixed.latency.floatMs),
    ]),
  );
}

export function printEasyQuant(runs: AnalysisRun[]): void {
  table(
    'EasyQuant (--method eq) against entropy, one calibration, output SQNR on the held-out samples',
    ['model', 'entropy', 'eq', 'layers searched', 'steps', 'samples', 'per layer', 'total'],
    runs.map((r) => [r.model, db(r.easyQuant.entropyDb), db(r.easyQuant.eqDb), r.easyQuant.layers, r.easyQuant.steps, r.easyQuant.samples, ms(r.easyQuant.msPerLayer, 0), ms(r.easyQuant.totalMs, 0)]),
  );
}
