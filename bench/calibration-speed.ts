/**
 * Calibration speed: calibration time ÷ plain float inference time over the same samples (ORT
 * 'all', batch 1, same threads), for minmax (one pass: min/max) and entropy (a second pass bins the
 * strided subsample into histograms over the exact range) and percentile (one pass, growing
 * histograms), whose statistics mse and aciq share, adding only their range computation.
 * The float baseline runs before, between and after the two calibrations; each calibration is
 * compared with the mean of the baselines taken right before and right after it.
 * Where the time goes comes from timers around calibrate()/quantizeCalibrated(), Calibration.calibrateMs
 * (the statistics loop alone) and the timestamps of onProgress's first and last sample per phase.
 */
import { loadModelFile, memorySource, type CalibrationSource, type QuantizeResult, type RangeMethodName, type Sample } from '../src/index.js';
import { calibrate, quantizeCalibrated, type Calibration } from '../src/quantize.js';
import { selectSamples } from '../src/data/select.js';
import { OCR_MODELS, ocrSample, sourceCountFor, type OcrKind } from './ocr-data.js';
import { floatPass } from './ort.js';
import { mean, ms, table, x } from './report.js';

export interface PhaseTimes {
  /** calibrate() wall time, and the part before the statistics loop (prepare passes, value types, plan). */
  calibrateMs: number;
  prepareMs: number;
  /** Calibration.calibrateMs: the statistics loop with its sessions. */
  collectMs: number;
  /** The calibration passes together (entropy makes two). */
  pass: Pass;
  passes: number;
  /** After the last sample: releasing the session, assembling statistics. */
  tailMs: number;
}

export interface Pass {
  /** Session creation (and first-run set-up) estimated as time-to-first-sample minus one steady sample. */
  sessionMs: number;
  /** Steady per-sample time between the first and the last sample. */
  perSampleMs: number;
  /** perSampleMs × samples. */
  totalMs: number;
}

export interface SpeedRow {
  model: OcrKind;
  method: RangeMethodName;
  samples: number;
  /** For mse and aciq: the percentile calibration they share. */
  sharesCalibrationOf?: RangeMethodName;
  floatBeforeMs: number;
  floatAfterMs: number;
  floatMs: number;
  phases: PhaseTimes;
  /** quantizeCalibrated() with validation off: range computation for the method, weights, QDQ export. */
  quantizeCalibratedMs: number;
  ratio: { passPerSample: number; collect: number; calibrate: number; withRanges: number };
  aim?: number;
}

export interface SpeedResult {
  model: OcrKind;
  threads: number | undefined;
  samples: number;
  floatRuns: { label: string; perSampleMs: number; sessionMs: number }[];
  /** Float inference with graph optimization disabled (what the calibration sessions ran at before they ran at 'all'), for diagnosis. */
  floatDisabledMs: number;
  rows: SpeedRow[];
  /** The int8 models, by method, for the int8-vs-float section. */
  quantized: Partial<Record<RangeMethodName, QuantizeResult>>;
}

const AIMS: Partial<Record<RangeMethodName, number>> = { minmax: 2, entropy: 3 };
// percentile, mse and aciq need histograms too, but not over the exact range: one pass, histograms that grow.

export async function calibrationSpeed(kind: OcrKind, samples: number, threads: number | undefined): Promise<SpeedResult> {
  const file = OCR_MODELS[kind];
  const { model } = loadModelFile(file);
  const count = sourceCountFor(samples);
  const all: Sample[] = Array.from({ length: count }, (_, i) => ocrSample(kind, i));
  const source = memorySource(all, `${count} rendered ${kind} samples`);
  // The same samples calibrate() will pick (deterministic, seed 0), for the float baseline.
  const chosen = selectSamples(count, samples, 0).calibration.map((i) => all[i]!);

  const floatRuns: SpeedResult['floatRuns'] = [];
  const float = async (label: string) => {
    const r = await floatPass(file, chosen, threads);
    floatRuns.push({ label, ...r });
    return r.perSampleMs;
  };

  const before = await float('before minmax');
  const mm = await timedCalibration(model, source, 'minmax', samples, threads);
  const between = await float('after minmax, before entropy');
  const en = await timedCalibration(model, source, 'entropy', samples, threads);
  const afterEntropy = await float('after entropy, before percentile');
  const pc = await timedCalibration(model, source, 'percentile', samples, threads);
  const after = await float('after percentile');
  const picked = en.cal.selection.calibration;
  const expected = selectSamples(count, samples, 0).calibration;
  if (picked.length !== expected.length || picked.some((v, i) => v !== expected[i]))
    console.log(`  note: ${kind}: calibrate() picked other samples than the float baseline ran on (onnxq's selection changed); the ratio compares like-shaped samples only.`);
  const floatDisabledMs = (await floatPass(file, chosen, threads, 'disabled')).perSampleMs;

  const quantized: SpeedResult['quantized'] = {};
  const rows: SpeedRow[] = [];
  const addRow = async (method: RangeMethodName, c: Timed, fb: number, fa: number, shares?: RangeMethodName) => {
    const t = performance.now();
    const result = await quantizeCalibrated(c.cal, { method, threads, validate: false });
    const quantizeCalibratedMs = performance.now() - t;
    quantized[method] = result;
    const floatMs = mean([fb, fa]);
    const total = floatMs * samples;
    rows.push({
      model: kind, method, samples, ...(shares ? { sharesCalibrationOf: shares } : {}),
      floatBeforeMs: fb, floatAfterMs: fa, floatMs,
      phases: c.phases,
      quantizeCalibratedMs,
      ratio: {
        passPerSample: c.phases.pass.perSampleMs / floatMs,
        collect: c.phases.collectMs / total,
        calibrate: c.phases.calibrateMs / total,
        withRanges: (c.phases.calibrateMs + quantizeCalibratedMs) / total,
      },
      ...(AIMS[method] ? { aim: AIMS[method] } : {}),
    });
  };
  await addRow('minmax', mm, before, between);
  await addRow('entropy', en, between, afterEntropy);
  await addRow('percentile', pc, afterEntropy, after);
  await addRow('mse', pc, afterEntropy, after, 'percentile');
  await addRow('aciq', pc, afterEntropy, after, 'percentile');
  return { model: kind, threads, samples, floatRuns, floatDisabledMs, rows, quantized };
}

interface Timed {
  cal: Calibration;
  phases: PhaseTimes;
}

async function timedCalibration(model: Parameters<typeof calibrate>[0], source: CalibrationSource, method: RangeMethodName, samples: number, threads: number | undefined): Promise<Timed> {
  const marks = new Map<string, { first?: number; last?: number; n: number }>();
  const start = performance.now();
  const cal = await calibrate(model, source, {
    methods: [method],
    calibSamples: samples,
    ...(threads ? { threads } : {}),
    onProgress: (phase, done, total) => {
      const now = performance.now();
      const mark = marks.get(phase) ?? marks.set(phase, { n: 0 }).get(phase)!;
      if (mark.first === undefined) mark.first = now;
      if (done === total) mark.last = now;
      mark.n = total;
    },
  });
  const end = performance.now();
  const calibrateMs = end - start;
  const collectStart = end - cal.calibrateMs;
  const pass = (m: { first?: number; last?: number; n: number }, previous: number): Pass => {
    const perSampleMs = m.n > 1 ? (m.last! - m.first!) / (m.n - 1) : m.first! - previous;
    return { sessionMs: m.first! - previous - perSampleMs, perSampleMs, totalMs: perSampleMs * m.n };
  };
  // Entropy makes a second pass (histograms over the exact range); its numbers add to the first's.
  let previous = collectStart;
  const total: Pass = { sessionMs: 0, perSampleMs: 0, totalMs: 0 };
  for (const m of marks.values()) {
    const p = pass(m, previous);
    total.sessionMs += p.sessionMs;
    total.perSampleMs += p.perSampleMs;
    total.totalMs += p.totalMs;
    previous = m.last!;
  }
  return {
    cal,
    phases: { calibrateMs, prepareMs: calibrateMs - cal.calibrateMs, collectMs: cal.calibrateMs, pass: total, passes: marks.size, tailMs: end - previous },
  };
}

export function printSpeed(results: SpeedResult[]): void {
  if (!results.length) return;
  const r0 = results[0]!;
  const threads = r0.threads ? `${r0.threads} thread${r0.threads > 1 ? 's' : ''}` : "ORT's default threads";
  table(
    `Calibration speed — ${r0.samples} samples, batch 1, ${threads}; float = onnxruntime-node 'all' over the same samples (mean of the runs right before and after)`,
    ['model', 'method', 'float/sample', 'before', 'after', 'calibrate()', '÷ float', 'collect ÷ float', '+ranges ÷ float', 'aim'],
    results.flatMap((r) =>
      r.rows.map((row) => [
        row.model, row.method + (row.sharesCalibrationOf ? '*' : ''), ms(row.floatMs, 2), ms(row.floatBeforeMs, 2), ms(row.floatAfterMs, 2),
        ms(row.phases.calibrateMs, 0), x(row.ratio.calibrate), x(row.ratio.collect), x(row.ratio.withRanges), row.aim ? `≤ ${row.aim}` : '',
      ]),
    ),
    [
      '* mse and aciq reuse the percentile calibration (one pass, growing histograms); their rows differ only in range computation.',
      'calibrate() = the whole call (prepare, value types, plan, the pass); collect = Calibration.calibrateMs (the pass with its session);',
      '+ranges = calibrate() + quantizeCalibrated() (ranges for the method, weights, QDQ export; validation off).',
    ],
  );
  table(
    'Where calibration time goes (ms) — sessions estimated as time to the first sample minus one steady sample',
    ['model', 'method', 'prepare', 'passes', 'sessions', 'passes (ms)', 'tail', 'quantizeCalibrated', 'passes/sample ÷ float', 'float disabled ÷ all'],
    results.flatMap((r) =>
      r.rows.map((row) => {
        const p = row.phases;
        const shared = !!row.sharesCalibrationOf;
        return [
          row.model, row.method + (shared ? '*' : ''),
          shared ? '〃' : p.prepareMs.toFixed(0), shared ? '〃' : String(p.passes), shared ? '〃' : p.pass.sessionMs.toFixed(0), shared ? '〃' : p.pass.totalMs.toFixed(0), shared ? '〃' : p.tailMs.toFixed(0),
          row.quantizeCalibratedMs.toFixed(0),
          x(row.ratio.passPerSample),
          x(r.floatDisabledMs / row.floatMs),
        ];
      }),
    ),
    [
      'prepare = calibrate() − Calibration.calibrateMs (prepare passes, one run to measure value types, plan). Pass 1: ReduceMin/ReduceMax in the graph;',
      "entropy adds pass 2: in-graph strided subsample and JS binning into histograms over the exact range. Sessions at graph optimization 'all' (last column: the float model at 'disabled', the level calibration used to run at).",
    ],
  );
}
