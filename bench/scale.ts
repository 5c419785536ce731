/**
 * How quantization time grows with the size of the graph: generated BERT-like encoders
 * (bench/encoder.ts: hidden 64, sequence 16, 4 heads, 29 nodes per layer, or --scale-shape) of 25, 50,
 * 100 and 200 layers, each quantized in every mode by the real CLI in its own process, as a user runs it
 * (`onnxq quantize … --calib <8 samples>.npy --no-validate --threads 1 --json`). The models are tiny
 * (hidden 64), so any time beyond onnxruntime's own is onnxq's per-node work.
 *
 * The baseline is onnxruntime-node opening the same file and running the same 8 samples at one
 * intra-op thread, also in a fresh process (bench/scale-baseline-child.ts), so both sides pay Node's
 * and onnxruntime's start-up and nothing is subtracted. It runs three times per size (before the
 * first mode, midway, after the last) and the median counts.
 *
 * A run past the time limit is killed and recorded as timed out; the same mode is then not run on
 * the larger models, whose time can only be longer, nor static entropy from the size where static
 * minmax timed out on (it does the same work plus a second calibration pass). That keeps the section near ten
 * minutes on a 2-core machine while the export is quadratic in the node count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveModelFile } from '../src/index.js';
import { writeNpy } from '../src/data/npy-file.js';
import { createRng } from '../src/data/random.js';
import { encoderModel, type EncoderShape } from './encoder.js';
import type { BaselineResult } from './scale-baseline-child.js';
import { failure, runTimed } from './timed-child.js';
import { mb, median, table, x } from './report.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BASELINE = fileURLToPath(new URL('./scale-baseline-child.js', import.meta.url));
export type ScaleShape = Omit<EncoderShape, 'layers'>;
export const SCALE_SHAPE: ScaleShape = { hidden: 64, seq: 16, ffn: 256, heads: 4, activation: 'relu', seed: 11 };

/** `--scale-shape hidden=256,seq=64,ffn=1024,heads=8,activation=gelu`: the default shape with these fields changed. */
export function parseScaleShape(text: string): ScaleShape {
  const shape: ScaleShape = { ...SCALE_SHAPE };
  for (const field of text.split(',')) {
    const [key, value] = field.split('=') as [string, string | undefined];
    if (key === 'activation' && (value === 'relu' || value === 'gelu')) shape.activation = value;
    else if ((key === 'hidden' || key === 'seq' || key === 'ffn' || key === 'heads') && Number.isInteger(Number(value)) && Number(value) > 0) shape[key] = Number(value);
    else throw new Error(`--scale-shape: '${field}' is not one of hidden=N, seq=N, ffn=N, heads=N, activation=relu|gelu`);
  }
  return shape;
}
const SAMPLES = 8;

/** `atLeast`: a mode that does all of another mode's work and more, so is not run where that one timed out. */
export const SCALE_MODES: { name: string; args: string[]; static?: true; atLeast?: string }[] = [
  { name: 'static minmax', args: ['--method', 'minmax'], static: true },
  // Entropy calibrates as minmax does, then makes a second pass over the samples for its histograms.
  { name: 'static entropy', args: ['--method', 'entropy'], static: true, atLeast: 'static minmax' },
  { name: 'dynamic', args: ['--mode', 'dynamic'] },
  { name: 'weight-only 4-bit', args: ['--mode', 'weight-only', '--bits', '4'] },
  { name: 'fp16', args: ['--mode', 'fp16'] },
];

/** The stages the CLI's `timings.stages` is to report (milliseconds each); other names it reports are shown too. */
export const STAGES = ['load', 'prepare', 'valueTypes', 'plan', 'calibration', 'export', 'validation', 'save'];
/** Aims from the issue. */
const AIM_STATIC_RATIO = 3;
const AIM_DOUBLING = 2.2;

export interface CliTimings {
  totalMs?: number;
  calibrateMs?: number;
  stages?: Record<string, number>;
}

export interface ScaleRun {
  layers: number;
  mode: string;
  wallMs?: number;
  timings?: CliTimings;
  peakRssBytes?: number;
  /** Killed before it could report its peak: the last value polled. */
  peakIsLowerBound?: true;
  error?: string;
  /** Not run, and why. */
  skipped?: string;
}

export interface ScaleSize {
  layers: number;
  nodes: number;
  fileBytes: number;
  baselines: ({ wallMs: number } & BaselineResult)[];
  /** Median wall time of the baseline processes. */
  baselineMs?: number;
  baselineError?: string;
}

export interface ScaleResult {
  shape: ScaleShape;
  samples: number;
  timeoutMs: number;
  sizes: ScaleSize[];
  runs: ScaleRun[];
}

export async function scaleRuns(layerCounts: number[], timeoutMs: number, log: (line: string) => void, shape = SCALE_SHAPE): Promise<ScaleResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-bench-scale-'));
  const result: ScaleResult = { shape, samples: SAMPLES, timeoutMs, sizes: [], runs: [] };
  try {
    const calib = path.join(dir, 'calib.npy');
    const rng = createRng(5);
    writeNpy(calib, { dtype: 'float32', dims: [SAMPLES, shape.seq, shape.hidden], data: Float32Array.from({ length: SAMPLES * shape.seq * shape.hidden }, () => rng.nextNormal()) });
    const timedOutAt = new Map<string, number>();
    for (const layers of [...layerCounts].sort((a, b) => a - b)) {
      const model = encoderModel({ ...shape, layers });
      const file = path.join(dir, `encoder-${layers}.onnx`);
      const size: ScaleSize = { layers, nodes: model.graph!.node.length, fileBytes: saveModelFile(model, file).bytes, baselines: [] };
      result.sizes.push(size);
      const baseline = async () => {
        const run = await runTimed(BASELINE, [file, calib, '1'], timeoutMs);
        const why = failure(run, timeoutMs);
        if (why) size.baselineError = why;
        else size.baselines.push({ wallMs: run.wallMs, ...(JSON.parse(run.stdout.trim().split('\n').pop()!) as BaselineResult) });
      };
      await baseline();
      for (const [i, mode] of SCALE_MODES.entries()) {
        if (i === Math.floor(SCALE_MODES.length / 2)) await baseline();
        const earlier = timedOutAt.get(mode.name);
        const heavier = mode.atLeast ? timedOutAt.get(mode.atLeast) : undefined;
        if (earlier !== undefined || heavier !== undefined) {
          const skipped = earlier !== undefined ? `not run (timed out at ${earlier} layers)` : `not run (${mode.atLeast} timed out at ${heavier} layers)`;
          result.runs.push({ layers, mode: mode.name, skipped });
          log(`  scale: ${layers} layers ${mode.name} — ${skipped}`);
          continue;
        }
        const out = path.join(dir, 'out.onnx');
        const run = await runTimed(CLI, ['quantize', file, '-o', out, ...mode.args, '--calib', calib, '--no-validate', '--threads', '1', '--json'], timeoutMs);
        fs.rmSync(out, { force: true });
        const row: ScaleRun = { layers, mode: mode.name, wallMs: run.wallMs };
        if (run.peakRssBytes !== undefined) row.peakRssBytes = run.peakRssBytes;
        if (run.peakIsLowerBound) row.peakIsLowerBound = true;
        const why = failure(run, timeoutMs);
        if (why) {
          row.error = why;
          if (run.timedOut) timedOutAt.set(mode.name, layers);
        } else row.timings = (JSON.parse(run.stdout) as { timings?: CliTimings }).timings;
        result.runs.push(row);
        log(`  scale: ${layers} layers (${size.nodes} nodes) ${mode.name} — ${row.error ?? `${(run.wallMs / 1000).toFixed(1)} s`}`);
      }
      await baseline();
      if (size.baselines.length) size.baselineMs = median(size.baselines.map((b) => b.wallMs));
      log(`  scale: ${layers} layers baseline (onnxruntime session + ${SAMPLES} inferences, own process) — ${secs(size.baselineMs)}`);
      fs.rmSync(file, { force: true });
    }
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The baseline processes' wall time outside session creation and inference: Node's and the modules' start-up. */
function startup(result: ScaleResult): number | undefined {
  const rest = result.sizes.flatMap((s) => s.baselines.map((b) => b.wallMs - b.sessionMs - b.inferenceMs));
  return rest.length ? median(rest) : undefined;
}

const secs = (ms: number | undefined): string => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);

/** The same mode on the next smaller size that ran, for the growth columns. */
function previous(r: ScaleRun, result: ScaleResult): ScaleRun | undefined {
  return result.runs.filter((p) => p.mode === r.mode && p.layers < r.layers && p.wallMs !== undefined && !p.error).sort((a, b) => b.layers - a.layers)[0];
}

/** `after ÷ before`, or a lower bound "> n×" when the run timed out. */
function growth(r: ScaleRun, prev: ScaleRun | undefined, after: number | undefined, before: number | undefined, timeoutMs: number): string {
  if (!prev || before === undefined) return '';
  const factor = r.layers / prev.layers === 2 ? '' : ` (layers ×${(r.layers / prev.layers).toFixed(1)})`;
  if (r.error?.startsWith('timed out')) return `> ${x(timeoutMs / before)}${factor}`;
  return after === undefined ? '' : `${x(after / before)}${factor}`;
}

export function printScale(result: ScaleResult): void {
  const size = (layers: number) => result.sizes.find((s) => s.layers === layers)!;
  table(
    `Quantization time vs graph size — generated encoders (hidden ${result.shape.hidden}, seq ${result.shape.seq}, MLP ${result.shape.ffn} ${result.shape.activation ?? 'relu'}, ${result.shape.heads ?? 1} heads), the CLI in its own process, ${result.samples} calibration samples, --no-validate --threads 1`,
    ['layers', 'nodes', 'mode', 'wall', 'baseline', '÷ baseline', 'aim', 'growth (wall)', 'growth (totalMs)', 'aim', 'peak RSS'],
    result.runs.map((r) => {
      const s = size(r.layers);
      const prev = previous(r, result);
      const head = [r.layers, s.nodes, r.mode];
      if (r.skipped) return [...head, r.skipped];
      const ok = !r.error;
      return [
        ...head,
        r.error ?? secs(r.wallMs),
        secs(s.baselineMs),
        ok && s.baselineMs ? x(r.wallMs! / s.baselineMs) : r.error?.startsWith('timed out') && s.baselineMs ? `> ${x(result.timeoutMs / s.baselineMs, 0)}` : '',
        SCALE_MODES.find((m) => m.name === r.mode)?.static ? `≤ ${AIM_STATIC_RATIO}×` : '',
        growth(r, prev, ok ? r.wallMs : undefined, prev?.wallMs, result.timeoutMs),
        growth(r, prev, r.timings?.totalMs, prev?.timings?.totalMs, result.timeoutMs),
        prev ? `≤ ${AIM_DOUBLING}×` : '',
        `${r.peakIsLowerBound ? '≥ ' : ''}${mb(r.peakRssBytes)}`,
      ];
    }),
    [
      `baseline: onnxruntime-node's InferenceSession.create on the same file + ${result.samples} float inferences at 1 thread, in a fresh process (median of 3);`,
      `both sides pay process start-up (Node and module loading: ${secs(startup(result))} in the baseline's process), nothing is subtracted.`,
      `growth: this size's time ÷ the same mode's on the next smaller size; (wall) is the whole process, (totalMs) the CLI's own timings.totalMs.`,
      `aims: static ≤ ${AIM_STATIC_RATIO}× the baseline on every size; doubling the layers ≤ ${AIM_DOUBLING}× the time in every mode.`,
      `a run past ${(result.timeoutMs / 1000).toFixed(0)} s is killed; "> n×" is then the least it would have been.`,
    ],
  );
  printStages(result);
}

/** Where the time goes, from the JSON summary's `timings` (`stages` once the CLI reports them). */
function printStages(result: ScaleResult): void {
  const reported = new Set(result.runs.flatMap((r) => Object.keys(r.timings?.stages ?? {})));
  const stages = [...STAGES, ...[...reported].filter((s) => !STAGES.includes(s))];
  const stageMs = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(0)} ms`);
  table(
    'Where the time goes — the CLI\'s --json `timings` per run (— where the CLI does not report a stage)',
    ['layers', 'mode', 'totalMs', 'calibrateMs', ...stages],
    result.runs
      .filter((r) => r.timings)
      .map((r) => [r.layers, r.mode, stageMs(r.timings!.totalMs), stageMs(r.timings!.calibrateMs), ...stages.map((s) => stageMs(r.timings!.stages?.[s]))]),
    reported.size ? [] : ['this build of the CLI reports no timings.stages yet: only totalMs (and calibrateMs for static).'],
  );
}
