/**
 * The int8 model against the float model: latency (median of interleaved runs, ORT 'all', one
 * thread and ORT's default), file size, which ops ORT fused into integer kernels (the graph it writes
 * at 'extended' — 'all' adds machine-specific NCHWc layout ops), and accuracy on rendered OCR data
 * with ground truth: rec greedy-CTC exact match and character accuracy, cls direction accuracy,
 * det probability inside vs outside the text boxes, plus SQNR/cosine of each output vs float.
 */
import fs from 'node:fs';
import { encodeModel, type QuantizeResult, type RangeMethodName, type Sample } from '../src/index.js';
import { boxContrast, ctcDecode, loadKeys } from '../demo/paddle-ocr.js';
import { ErrorAccumulator as Agreement, argmax } from '../src/analyze/metrics.js';
import { editDistance } from '../demo/paddle-tasks.js';
import { clsEvaluation, detEvaluation, EVALUATION_SEED, ocrSample, OCR_MODELS, recEvaluation, type OcrKind } from './ocr-data.js';
import { fusedOps, latencyPair, opList, run, session, type FusionReport } from './ort.js';
import { db, kb, ms, pct, table, x } from './report.js';

export interface SpeedSizeFusion {
  model: string;
  /** Which int8 model was timed (the method of its ranges; latency does not depend on it). */
  method: string;
  floatBytes: number;
  int8Bytes: number;
  sizeRatio: number;
  latency: { oneThread: Latency; defaultThreads: Latency };
  fusion: { int8: FusionReport; float: FusionReport };
  aim?: number;
}

interface Latency {
  floatMs: number;
  int8Ms: number;
  ratio: number;
}

export const LATENCY_RUNS = 30;

export async function speedSizeFusion(name: string, floatFile: string, int8: Uint8Array, sample: Sample, method: string, aim?: number): Promise<SpeedSizeFusion> {
  const floatBytes = fs.statSync(floatFile).size;
  const oneThread = await latencyPair(floatFile, int8, sample, 1, LATENCY_RUNS);
  const defaultThreads = await latencyPair(floatFile, int8, sample, undefined, LATENCY_RUNS);
  const fusion = { int8: await fusedOps(int8, 'extended'), float: await fusedOps(floatFile, 'extended') };
  return {
    model: name, method, floatBytes, int8Bytes: int8.length, sizeRatio: int8.length / floatBytes,
    latency: { oneThread, defaultThreads }, fusion, ...(aim ? { aim } : {}),
  };
}

export function int8Bytes(result: QuantizeResult): Uint8Array {
  return encodeModel(result.model).model;
}

/** Convolutional models, for which the issue aims at int8 latency ≤ 0.6 × float. */
const CONV_AIM: Record<OcrKind, number | undefined> = { det: 0.6, rec: undefined, cls: 0.6 };

export async function ocrSpeedSizeFusion(kind: OcrKind, quantized: Partial<Record<RangeMethodName, QuantizeResult>>, method: RangeMethodName): Promise<SpeedSizeFusion> {
  const result = quantized[method]!;
  return speedSizeFusion(`${kind} ${kind === 'det' ? '320×320' : kind === 'rec' ? '48×320' : '48×192'}`, OCR_MODELS[kind], int8Bytes(result), ocrSample(kind, 0, EVALUATION_SEED), method, CONV_AIM[kind]);
}

// ---------------------------------------------------------------------------------------------
// Accuracy

export interface QualityRow {
  model: string;
  /** 'float' or the int8 model's range method. */
  variant: string;
  samples: number;
  metrics: Record<string, number>;
}

const EVAL_COUNT: Record<OcrKind, number> = { rec: 200, cls: 200, det: 20 };

/** The int8 models of each range method, by name, for ocrQuality. */
export function byMethod(quantized: Partial<Record<RangeMethodName, QuantizeResult>>): [string, Uint8Array][] {
  return Object.entries(quantized).map(([m, r]) => [m, int8Bytes(r!)]);
}

/** Scores the float model and each variant (a name and its model bytes) on the kind's evaluation set, one sample at a time. */
export async function ocrQuality(kind: OcrKind, variants: [string, Uint8Array][], threads: number | undefined, count = EVAL_COUNT[kind]): Promise<QualityRow[]> {
  const float = await session(OCR_MODELS[kind], { threads });
  const quantized = await Promise.all(variants.map(([, bytes]) => session(bytes, { threads })));
  const names = ['float', ...variants.map(([m]) => m)];
  const sessions = [float, ...quantized];
  const agree = names.map(() => new Agreement());
  const sums = names.map(() => new Map<string, number>());
  const add = (v: number, key: string, value: number) => sums[v]!.set(key, (sums[v]!.get(key) ?? 0) + value);
  try {
    const n = count;
    if (kind === 'rec') {
      const keys = loadKeys();
      const items = recEvaluation(n);
      for (const item of items) {
        let floatText = '';
        let floatOut: Float32Array | undefined;
        for (const [v, s] of sessions.entries()) {
          const out = await run(s, item.sample);
          const text = ctcDecode(out.data, out.dims, keys).trim();
          if (v === 0) { floatText = text; floatOut = out.data; }
          agree[v]!.add(floatOut!, out.data);
          add(v, 'exact', text === item.text ? 1 : 0);
          add(v, 'distance', editDistance(item.text, text));
          add(v, 'chars', [...item.text].length);
          add(v, 'sameAsFloat', text === floatText ? 1 : 0);
        }
      }
      return names.map((variant, v) => ({
        model: 'rec', variant, samples: n,
        metrics: { exactMatch: sums[v]!.get('exact')! / n, charAccuracy: 1 - sums[v]!.get('distance')! / sums[v]!.get('chars')!, sameTextAsFloat: sums[v]!.get('sameAsFloat')! / n, sqnr: agree[v]!.sqnr, cosine: agree[v]!.cosine },
      }));
    }
    if (kind === 'cls') {
      for (const item of clsEvaluation(n)) {
        let floatClass = -1;
        let floatOut: Float32Array | undefined;
        for (const [v, s] of sessions.entries()) {
          const out = await run(s, item.sample);
          const cls = argmax(out.data);
          if (v === 0) { floatClass = cls; floatOut = out.data; }
          agree[v]!.add(floatOut!, out.data);
          add(v, 'correct', (cls === 1) === item.rotated ? 1 : 0);
          add(v, 'sameAsFloat', cls === floatClass ? 1 : 0);
        }
      }
      return names.map((variant, v) => ({
        model: 'cls', variant, samples: n,
        metrics: { accuracy: sums[v]!.get('correct')! / n, top1AgreesWithFloat: sums[v]!.get('sameAsFloat')! / n, sqnr: agree[v]!.sqnr, cosine: agree[v]!.cosine },
      }));
    }
    for (const item of detEvaluation(n)) {
      let floatOut: Float32Array | undefined;
      for (const [v, s] of sessions.entries()) {
        const out = await run(s, item.sample);
        if (v === 0) floatOut = out.data;
        agree[v]!.add(floatOut!, out.data);
        const c = boxContrast(out.data, item.width, item.height, item.boxes);
        add(v, 'inside', c.inside);
        add(v, 'outside', c.outside);
      }
    }
    return names.map((variant, v) => ({
      model: 'det', variant, samples: n,
      metrics: { meanInside: sums[v]!.get('inside')! / n, meanOutside: sums[v]!.get('outside')! / n, sqnr: agree[v]!.sqnr, cosine: agree[v]!.cosine },
    }));
  } finally {
    for (const s of sessions) await s.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

export function printSpeedSizeFusion(title: string, rows: SpeedSizeFusion[]): void {
  if (!rows.length) return;
  table(
    `${title} — latency: median of ${LATENCY_RUNS} interleaved runs after 5 warm-ups, ORT 'all', batch 1`,
    ['model', 'int8 of', 'float size', 'int8 size', 'size ×', '1 thr float', '1 thr int8', '1 thr ×', 'dflt float', 'dflt int8', 'dflt ×', 'aim'],
    rows.map((r) => [
      r.model, r.method, kb(r.floatBytes), kb(r.int8Bytes), x(r.sizeRatio),
      ms(r.latency.oneThread.floatMs, 2), ms(r.latency.oneThread.int8Ms, 2), x(r.latency.oneThread.ratio),
      ms(r.latency.defaultThreads.floatMs, 2), ms(r.latency.defaultThreads.int8Ms, 2), x(r.latency.defaultThreads.ratio),
      r.aim ? `≤ ${r.aim}` : '',
    ]),
    ["int8 of: the ranges of the model timed (minmax, the CLI's default); where Q/DQ go does not depend on the method. dflt = onnxruntime's default threads."],
  );
  table(
    `${title} — what ORT made of the graphs at 'extended' (optimizedModelFilePath)`,
    ['model', 'integer kernels (int8 model)', 'float compute left', 'Q / DQ left', 'ops still next to a Q/DQ (unfused)', 'float model compute ops'],
    rows.map((r) => [
      r.model, opList(r.fusion.int8.integer, 5), opList(r.fusion.int8.floatCompute),
      `${r.fusion.int8.quantizeLinear} / ${r.fusion.int8.dequantizeLinear}`, opList(r.fusion.int8.aroundQdq, 5), opList(r.fusion.float.floatCompute, 4),
    ]),
  );
}

export function printQuality(rows: QualityRow[]): void {
  const of = (model: string) => rows.filter((r) => r.model === model);
  const rec = of('rec');
  if (rec.length)
    table(
      `rec accuracy — ${rec[0]!.samples} rendered lines (PaddleOCR width), greedy CTC vs ground truth`,
      ['variant', 'exact match', 'char accuracy', 'same text as float', 'SQNR vs float', 'cosine'],
      rec.map((r) => [r.variant, pct(r.metrics.exactMatch), pct(r.metrics.charAccuracy), pct(r.metrics.sameTextAsFloat), db(r.metrics.sqnr), r.metrics.cosine!.toFixed(5)]),
    );
  const cls = of('cls');
  if (cls.length)
    table(
      `cls accuracy — ${cls[0]!.samples} rendered lines at 48×192, half turned by 180°`,
      ['variant', 'accuracy', 'top-1 agrees with float', 'SQNR vs float', 'cosine'],
      cls.map((r) => [r.variant, pct(r.metrics.accuracy), pct(r.metrics.top1AgreesWithFloat), db(r.metrics.sqnr), r.metrics.cosine!.toFixed(5)]),
      ['the output is a 2-class softmax that saturates on clear lines, so its SQNR is very high and says little; accuracy is the measure here.'],
    );
  const det = of('det');
  if (det.length)
    table(
      `det quality — ${det[0]!.samples} rendered 320×320 pages: mean text probability inside vs outside the line boxes`,
      ['variant', 'inside', 'outside', 'SQNR of the map vs float', 'cosine'],
      det.map((r) => [r.variant, r.metrics.meanInside!.toFixed(3), r.metrics.meanOutside!.toFixed(4), db(r.metrics.sqnr), r.metrics.cosine!.toFixed(5)]),
    );
}
