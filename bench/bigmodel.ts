/**
 * Peak memory of every mode on a model past protobuf's 2 GiB: a generated encoder of 16 layers,
 * hidden 2048, MLP 8192 (3.0 GiB = 3.2e9 bytes of float32 weights; wider layers than BERT-large),
 * written with external data by its own process (bench/bigmodel-write-child.ts). Each mode then
 * runs the real CLI in a fresh process, as a user runs it, with validation on as the CLI's default
 * (static: held-out calibration samples; the others: 8 synthetic samples), or off with
 * --bigmodel-no-validate.
 *
 * The peak is the CLI process's VmHWM, reported by bench/peak-hook.ts as it exits — the CLI is run
 * under that preloaded hook rather than as a library call, so the numbers are those of the command
 * users type. A run that fails is recorded with its error line and, when validation was on, run once
 * more without it, to tell whether the validation alone is what fails. Nothing is asserted: some
 * modes are expected to fail or to exceed the aim today.
 *
 * Files live under os.tmpdir() and are deleted afterwards; with under 15 GB free there the section
 * is skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../src/data/npy-file.js';
import { createRng } from '../src/data/random.js';
import type { BigModelFiles } from './bigmodel-write-child.js';
import { encoderWeightBytes, type EncoderShape } from './encoder.js';
import type { CliTimings } from './scale.js';
import { failure, runTimed, type ChildRun } from './timed-child.js';
import { db, gb, table, x } from './report.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WRITER = fileURLToPath(new URL('./bigmodel-write-child.js', import.meta.url));
const SHAPE: EncoderShape = { layers: 16, hidden: 2048, seq: 16, ffn: 8192, heads: 16, activation: 'relu', seed: 13 };
const CALIB_SAMPLES = 4;
const MIN_FREE_BYTES = 15 * 2 ** 30;
const AIM_PEAK_RATIO = 2;

const MODES: { name: string; args: string[]; calib?: true }[] = [
  { name: 'static minmax', args: ['--method', 'minmax'], calib: true },
  { name: 'dynamic', args: ['--mode', 'dynamic'] },
  { name: 'weight-only 4-bit', args: ['--mode', 'weight-only', '--bits', '4'] },
  { name: 'fp16', args: ['--mode', 'fp16'] },
];

export interface BigModelRun {
  mode: string;
  validated: boolean;
  /** Run again without validation after the validated run failed. */
  retry?: true;
  wallMs: number;
  peakRssBytes?: number;
  /** The process was killed before reporting its peak: the last polled value, a lower bound. */
  peakIsLowerBound?: true;
  outputBytes?: number;
  /** The lowest SQNR over the outputs, when validated. */
  sqnr?: number;
  timings?: CliTimings;
  error?: string;
}

export interface BigModelResult {
  shape: EncoderShape;
  weightBytes: number;
  freeDiskBytes: number;
  files?: BigModelFiles;
  skipped?: string;
  timeoutMs: number;
  runs: BigModelRun[];
}

export interface BigModelOptions {
  validate: boolean;
  threads: number | undefined;
  timeoutMs: number;
}

export async function bigModelRuns(o: BigModelOptions, log: (line: string) => void): Promise<BigModelResult> {
  const stat = fs.statfsSync(os.tmpdir()); // what df reports as available
  const result: BigModelResult = { shape: SHAPE, weightBytes: encoderWeightBytes(SHAPE), freeDiskBytes: stat.bavail * stat.bsize, timeoutMs: o.timeoutMs, runs: [] };
  if (result.freeDiskBytes < MIN_FREE_BYTES) {
    result.skipped = `only ${gb(result.freeDiskBytes)} free in ${os.tmpdir()}; the model, its quantized copies and their temporary files need ${gb(MIN_FREE_BYTES)}`;
    return result;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-bench-bigmodel-'));
  try {
    const model = path.join(dir, 'encoder.onnx');
    log(`  bigmodel: writing ${gb(result.weightBytes)} of weights (${SHAPE.layers} layers, hidden ${SHAPE.hidden}, MLP ${SHAPE.ffn}) with external data`);
    const written = await runTimed(WRITER, [model, JSON.stringify(SHAPE)], o.timeoutMs);
    const why = failure(written, o.timeoutMs);
    if (why) {
      result.skipped = `the model could not be written: ${why}`;
      return result;
    }
    result.files = JSON.parse(written.stdout.trim().split('\n').pop()!) as BigModelFiles;
    log(`  bigmodel: written in ${(result.files.wallMs / 1000).toFixed(0)} s, writer's peak RSS ${gb(result.files.peakRssBytes)}`);
    const calib = path.join(dir, 'calib.npy');
    const rng = createRng(9);
    const n = CALIB_SAMPLES * SHAPE.seq * SHAPE.hidden;
    writeNpy(calib, { dtype: 'float32', dims: [CALIB_SAMPLES, SHAPE.seq, SHAPE.hidden], data: Float32Array.from({ length: n }, () => rng.nextNormal()) });

    for (const mode of MODES) {
      const run = async (validate: boolean) => {
        const out = path.join(dir, 'out.onnx');
        const args = ['quantize', model, '-o', out, ...mode.args, ...(mode.calib ? ['--calib', calib] : []), ...(o.threads ? ['--threads', String(o.threads)] : []), ...(validate ? [] : ['--no-validate']), '--json'];
        const child = await runTimed(CLI, args, o.timeoutMs);
        for (const f of [out, `${out}.data`]) fs.rmSync(f, { force: true });
        const row = toRow(mode.name, validate, child, o.timeoutMs);
        result.runs.push(row);
        log(`  bigmodel: ${mode.name}${validate ? '' : ' (--no-validate)'} — ${row.error ?? 'done'} in ${(row.wallMs / 1000).toFixed(0)} s, peak RSS ${row.peakIsLowerBound ? '≥ ' : ''}${gb(row.peakRssBytes)}`);
        return row;
      };
      const first = await run(o.validate);
      if (first.error && o.validate && !first.error.startsWith('timed out')) (await run(false)).retry = true;
    }
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function toRow(mode: string, validated: boolean, child: ChildRun, timeoutMs: number): BigModelRun {
  const row: BigModelRun = { mode, validated, wallMs: child.wallMs };
  if (child.peakRssBytes !== undefined) row.peakRssBytes = child.peakRssBytes;
  if (child.peakIsLowerBound) row.peakIsLowerBound = true;
  const why = failure(child, timeoutMs);
  if (why) {
    row.error = why;
    return row;
  }
  const summary = JSON.parse(child.stdout) as { bytes?: { output?: number }; validation?: { outputs?: { sqnr: number }[] } | null; timings?: CliTimings };
  if (summary.bytes?.output !== undefined) row.outputBytes = summary.bytes.output;
  const sqnrs = summary.validation?.outputs?.map((v) => v.sqnr) ?? [];
  if (sqnrs.length) row.sqnr = Math.min(...sqnrs);
  if (summary.timings) row.timings = summary.timings;
  return row;
}

export function printBigModel(result: BigModelResult): void {
  if (result.skipped) {
    console.log(`\n  big model section skipped: ${result.skipped}.`);
    return;
  }
  const w = result.weightBytes;
  const files = result.files!;
  table(
    `Peak memory on a ${gb(files.modelBytes + files.dataBytes)} generated encoder (${result.shape.layers} layers, hidden ${result.shape.hidden}, MLP ${result.shape.ffn}, ${files.nodes} nodes; ${gb(w)} of float32 weights in external data) — the CLI in its own process per mode`,
    ['mode', 'validation', 'wall', 'peak RSS (VmHWM)', 'peak ÷ weights', 'aim', 'output', 'SQNR (min)', 'error'],
    result.runs.map((r) => [
      r.mode,
      r.validated ? 'on' : r.retry ? 'off (retry)' : 'off',
      `${(r.wallMs / 1000).toFixed(0)} s`,
      r.peakRssBytes === undefined ? '–' : `${r.peakIsLowerBound ? '≥ ' : ''}${gb(r.peakRssBytes)}`,
      r.peakRssBytes === undefined ? '–' : `${r.peakIsLowerBound ? '≥ ' : ''}${x(r.peakRssBytes / w)}`,
      `≤ ${AIM_PEAK_RATIO}×`,
      r.outputBytes === undefined ? '–' : gb(r.outputBytes),
      r.sqnr === undefined ? '–' : db(r.sqnr),
      r.error ?? '',
    ]),
    [
      `validation on is the CLI's default (static: on held-out samples of the ${CALIB_SAMPLES} calibration samples; the other modes: on 8 synthetic samples);`,
      'a run that failed with it on is run again with --no-validate ("off (retry)") to tell whether validation alone is what fails.',
      `peak: the CLI process's own VmHWM at exit; "≥" where it was killed first (the last value polled every 200 ms). Runs are killed after ${(result.timeoutMs / 1000).toFixed(0)} s.`,
      `aim: peak ≤ ${AIM_PEAK_RATIO}× the weights. The model's writer peaked at ${gb(files.peakRssBytes)} (${x(files.peakRssBytes / w)}), in ${(files.wallMs / 1000).toFixed(0)} s.`,
    ],
  );
}
