/**
 * Section 4: the int8-vs-float comparison on pretrained models nobody here wrote, from
 * ../shared/models (present on the team's machines, absent on a user's clone: then the section says
 * so and is skipped). Only models whose data is at hand: MNIST (its test set), and image models
 * calibrated and compared on ../shared/data/photos through onnxq's own image source. A model that
 * onnxq cannot quantize is reported with onnxq's error and skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  loadModelFile, memorySource, modelInputs, openCalibration,
  type CalibrationSource, type ImageOptions, type QuantizeResult, type RangeMethodName, type Sample,
} from '../src/index.js';
import { calibrate, quantizeCalibrated } from '../src/quantize.js';
import { int8Bytes, speedSizeFusion, type SpeedSizeFusion } from './int8-vs-float.js';
import { ErrorAccumulator as Agreement, argmax } from '../src/analyze/metrics.js';
import { psnr } from './metrics.js';
import { runAll, session } from './ort.js';
import { db, errorLine, pct, table } from './report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** ../shared next to the repository (dist/bench → repo root → ..). */
export const SHARED = path.resolve(HERE, '..', '..', '..', 'shared');
const MODELS = path.join(SHARED, 'models');
const DATA = path.join(SHARED, 'data');

const METHODS: RangeMethodName[] = ['minmax', 'entropy'];

interface Spec {
  file: string;
  /** What the model is, for the table. */
  what: string;
  /** Calibration source, and the samples to evaluate on (with labels where there are). */
  data: (model: ReturnType<typeof loadModelFile>['model']) => Promise<{ source: CalibrationSource; calibSamples: number; evaluate: Sample[]; labels?: Uint8Array; note: string }>;
  /** Extra per-output measure: PSNR for an image output. */
  psnr?: boolean;
}

const photos = (options: ImageOptions, overrides: Record<string, number[]> = {}): Spec['data'] => async (model) => {
  const source = await openCalibration(path.join(DATA, 'photos'), modelInputs(model, overrides), options);
  const evaluate: Sample[] = [];
  for (let i = 0; i < source.count; i++) evaluate.push(await source.load(i));
  return { source, calibSamples: source.count, evaluate, note: `calibrated on ${source.count} photos (onnxq holds ${Math.max(1, Math.round(source.count / 10))} out); compared on all ${source.count}` };
};

const SPECS: Spec[] = [
  { file: 'mnist-zoo-opset7.onnx', what: 'MNIST CNN, opset 7', data: mnist },
  { file: 'super-resolution-10.onnx', what: 'super-resolution ×3', data: photos({ channels: 'gray', size: [224, 224] }, { input: [1, 1, 224, 224] }), psnr: true },
  { file: 'ultraface-version-RFB-320.onnx', what: 'UltraFace RFB-320', data: photos({ channels: 'rgb', scale: 1, mean: 127, std: 128 }) },
  { file: 'FastestDet.onnx', what: 'FastestDet 352×352', data: photos({ channels: 'bgr', scale: 1 / 255 }) },
  { file: 'cifar10-tutorial-ImageClassifier.onnx', what: 'CIFAR-10 CNN (numeric only)', data: photos({ channels: 'rgb', mean: 0.5, std: 0.5 }, { modelInput: [1, 3, 32, 32] }) },
];

async function mnist(model: ReturnType<typeof loadModelFile>['model']): ReturnType<Spec['data']> {
  const dir = path.join(DATA, 'mnist_t10k');
  const images = gunzipSync(fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz')));
  const labels = gunzipSync(fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz')));
  const n = images.readUInt32BE(4), rows = images.readUInt32BE(8), cols = images.readUInt32BE(12);
  const input = modelInputs(model)[0]!.name;
  const samples: Sample[] = Array.from({ length: n }, (_, i) => {
    const data = new Float32Array(rows * cols);
    for (let k = 0; k < data.length; k++) data[k] = images[16 + i * rows * cols + k]! / 255;
    return { [input]: { dtype: 'float32', dims: [1, 1, rows, cols], data } };
  });
  return { source: memorySource(samples, 'MNIST t10k'), calibSamples: 512, evaluate: samples, labels: new Uint8Array(labels.subarray(8, 8 + n)), note: 'calibrated on 512 test images; top-1 on all 10,000' };
}

export interface SharedQuality {
  variant: string;
  outputs: { name: string; sqnr: number; cosine: number }[];
  top1?: number;
  top1AgreesWithFloat?: number;
  psnrVsFloat?: number;
}

export interface SharedResult {
  model: string;
  what: string;
  status: 'ok' | 'missing' | 'failed';
  message?: string;
  note?: string;
  speed?: SpeedSizeFusion;
  quality?: SharedQuality[];
  calibrateMs?: number;
}

export async function sharedModels(threads: number | undefined, log: (line: string) => void): Promise<{ present: boolean; dir: string; results: SharedResult[] }> {
  if (!fs.existsSync(MODELS)) return { present: false, dir: MODELS, results: [] };
  const results: SharedResult[] = [];
  for (const spec of SPECS) {
    const file = path.join(MODELS, spec.file);
    if (!fs.existsSync(file)) {
      results.push({ model: spec.file, what: spec.what, status: 'missing', message: `not in ${MODELS}` });
      continue;
    }
    const t = performance.now();
    try {
      const { model } = loadModelFile(file);
      const data = await spec.data(model);
      const c0 = performance.now();
      const cal = await calibrate(model, data.source, { methods: ['entropy'], calibSamples: data.calibSamples, ...(threads ? { threads } : {}) });
      const calibrateMs = performance.now() - c0;
      const quantized: [string, QuantizeResult][] = [];
      for (const method of METHODS) quantized.push([method, await quantizeCalibrated(cal, { method, validate: false, ...(threads ? { threads } : {}) })]);
      const bytes = quantized.map(([m, r]) => [m, int8Bytes(r)] as [string, Uint8Array]);
      const speed = await speedSizeFusion(spec.file.replace(/\.onnx$/, ''), file, bytes[0]![1], data.evaluate[0]!, bytes[0]![0]);
      const quality = await compare(file, bytes, data.evaluate, data.labels, !!spec.psnr, threads);
      results.push({ model: spec.file, what: spec.what, status: 'ok', note: data.note, speed, quality, calibrateMs });
      log(`  shared: ${spec.file} done (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    } catch (e) {
      results.push({ model: spec.file, what: spec.what, status: 'failed', message: errorLine(e) });
      log(`  shared: ${spec.file} failed: ${errorLine(e)}`);
    }
  }
  return { present: true, dir: MODELS, results };
}

/** Float and each int8 model on every evaluation sample: SQNR/cosine per output, top-1 with labels, PSNR for images. */
async function compare(floatFile: string, variants: [string, Uint8Array][], samples: Sample[], labels: Uint8Array | undefined, withPsnr: boolean, threads: number | undefined): Promise<SharedQuality[]> {
  const sessions = [await session(floatFile, { threads }), ...(await Promise.all(variants.map(([, b]) => session(b, { threads }))))];
  const names = ['float', ...variants.map(([m]) => m)];
  const agree = names.map(() => new Map<string, Agreement>());
  const correct = names.map(() => 0);
  const sameTop1 = names.map(() => 0);
  const psnrSum = names.map(() => 0);
  try {
    for (const [i, sample] of samples.entries()) {
      let ref: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const [v, s] of sessions.entries()) {
        const out = await runAll(s, sample);
        if (v === 0) ref = out;
        for (const [name, t] of Object.entries(out)) {
          if (!(t.data instanceof Float32Array) || !ref[name]) continue;
          let a = agree[v]!.get(name);
          if (!a) agree[v]!.set(name, (a = new Agreement()));
          a.add(ref[name]!.data, t.data);
        }
        const first = out[sessions[0]!.outputNames[0]!]!;
        if (labels) {
          const k = argmax(first.data);
          if (k === labels[i]) correct[v]!++;
          if (k === argmax(ref[sessions[0]!.outputNames[0]!]!.data)) sameTop1[v]!++;
        }
        if (withPsnr && v > 0) psnrSum[v]! += Math.min(100, psnr(ref[sessions[0]!.outputNames[0]!]!.data, first.data));
      }
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  const n = samples.length;
  return names.map((variant, v) => ({
    variant,
    outputs: [...agree[v]!].map(([name, a]) => ({ name, sqnr: a.sqnr, cosine: a.cosine })),
    ...(labels ? { top1: correct[v]! / n, top1AgreesWithFloat: sameTop1[v]! / n } : {}),
    ...(withPsnr && v > 0 ? { psnrVsFloat: psnrSum[v]! / n } : {}),
  }));
}

export function printSharedQuality(results: SharedResult[]): void {
  const rows = results.flatMap((r) =>
    r.status !== 'ok'
      ? [[r.model, '', r.status === 'missing' ? `skipped: ${r.message}` : `skipped — failed: ${r.message}`]]
      : r.quality!.map((q) => [
          q.variant === 'float' ? r.model : '', q.variant,
          q.variant === 'float'
            ? (q.top1 !== undefined ? `top-1 ${pct(q.top1, 2)}` : 'reference')
            : [
                q.top1 !== undefined ? `top-1 ${pct(q.top1, 2)} (agrees with float ${pct(q.top1AgreesWithFloat, 2)})` : '',
                q.psnrVsFloat !== undefined ? `PSNR vs float ${db(q.psnrVsFloat)}` : '',
                q.outputs.map((o) => `${o.name}: SQNR ${db(o.sqnr)}, cos ${o.cosine.toFixed(4)}`).join('; '),
              ].filter(Boolean).join('; '),
        ]),
  );
  table('Shared models — quality of the int8 models vs float (and vs labels where there are)', ['model', 'variant', 'result'], rows, results.filter((r) => r.note).map((r) => `${r.model}: ${r.note}`));
}
