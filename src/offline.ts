/**
 * Quantization without calibration: dynamic int8 (weights offline, activations at run time),
 * weight-only int4/int8 and float16. Each mode rewrites a prepared copy of the model (or the model
 * itself, for a caller that owns it), then the result is compared with the float model on the user's
 * samples, or on synthetic ones when there are none.
 */
import { cloneModel } from './onnx/external.js';
import type { ModelProto } from 'onnx-buf';
import { checkLoads, compareModels, type ValidationReport } from './analyze/validate.js';
import type { CalibrationSource } from './data/source.js';
import { finiteSource } from './data/finite.js';
import { checkModel } from './ir/check.js';
import { syntheticSource } from './data/synthetic.js';
import { fail, OnnxqError } from './errors.js';
import { exportDynamic, type OfflineReport } from './export/dynamic.js';
import { DEFAULT_FP16_BLOCK_LIST, exportFloat16, type Float16Options, type Float16Report } from './export/fp16.js';
import { exportWeightOnly, type WeightOnlyReport, type WeightOnlyFormat, type WeightOnlyMethod } from './export/weight-only.js';
import { forEachGraph } from './onnx/walk.js';
import { stampModel } from './ir/model.js';
import { timed, type StageTimes } from './timings.js';
import { prepareModel, type PrepareReport } from './passes/prepare.js';
import type { TargetName } from './plan/plan.js';
import { modelInputs } from './data/inputs.js';
import { selectorWarnings } from './ir/select.js';

export type OfflineMode = 'dynamic' | 'weight-only' | 'fp16';

export interface OfflineOptions {
  mode: OfflineMode;
  /** tensorrt cannot run DynamicQuantizeLinear; the pair is refused. */
  target?: TargetName;
  /** Dynamic: int8 or uint8 weights (default uint8 when the model has a Conv, else int8). */
  weightType?: 'int8' | 'uint8';
  perChannel?: boolean;
  opTypes?: string[];
  exclude?: string[];
  /** Weight-only: 4 (default) or 8 bits, values per block along the reduction axis (16..256, default 32). */
  bits?: number;
  blockSize?: number;
  /** Weight-only: symmetric blocks (no zero points stored); default asymmetric. */
  symmetric?: boolean;
  /** Weight-only rounding: to nearest (default) or HQQ (4-bit MatMulNBits only). */
  weightMethod?: WeightOnlyMethod;
  /** Weight-only output: com.microsoft MatMulNBits (default) or blocked DequantizeLinear (opset 21). */
  format?: WeightOnlyFormat;
  /** Weight-only MatMulNBits accuracy_level (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations). */
  accuracyLevel?: number;
  /** Weight-only: also quantize Gather on constant tables (embeddings). */
  quantizeEmbeddings?: boolean;
  /** fp16: keep float32 graph inputs and outputs, with Casts inside (default true). */
  keepIoTypes?: boolean;
  /** fp16: constants beyond ±65504 — 'auto' (default), 'clamp' (ORT's converter) or 'float32' (keep their readers float32). */
  overflow?: Float16Options['overflow'];
  /** Write the model even when nothing was quantized. */
  force?: boolean;
  /** Compare with the float model (default true): on `source` if given, else on synthetic samples. */
  validate?: boolean;
  /** Fixed sizes for free input dimensions and values for integer inputs, for synthetic samples. */
  inputShapes?: Record<string, number[]>;
  inputValues?: Record<string, number>;
  threads?: number;
  seed?: number;
  /** Progress of the long step: weight-only's quantization, per MatMul/Gemm/Gather node. */
  onProgress?: (phase: 'quantizing', done: number, total: number) => void;
}

export interface OfflineResult {
  model: ModelProto;
  mode: OfflineMode;
  prepare: PrepareReport;
  /** Nodes rewritten, nodes left float and why, and warnings; the same shape in every mode. */
  report: OfflineReport;
  /** The mode's own details: block bytes for weight-only; conversions, clamps and Casts for fp16. */
  weightOnly?: WeightOnlyReport;
  float16?: Float16Report;
  validation?: ValidationReport;
  /** What validation ran on: the user's data or synthetic samples. */
  validatedOn?: string;
  warnings: string[];
  timings: { totalMs: number; stages: StageTimes };
}

/** Samples validation runs on at most. */
const VALIDATION_SAMPLES = 8;

/**
 * How quantizeOffline may treat its input, for callers that own it (quantizeFileOffline): rewrite it
 * in place instead of a copy (`consume`; after an error the model is left part-rewritten), and
 * validate against the float model read again from its file — for a large model two copies of its
 * weights fewer in memory. `consume` with validation needs `floatModelFile`.
 */
export interface OfflineInputUse {
  consume?: boolean;
  floatModelFile?: string;
}

export async function quantizeOffline(input: ModelProto, options: OfflineOptions, source?: CalibrationSource, use: OfflineInputUse = {}): Promise<OfflineResult> {
  checkModel(input, 'the model');
  const start = performance.now();
  const stages: StageTimes = {};
  if (use.consume && options.validate !== false && !use.floatModelFile) throw new Error('quantizeOffline: a consumed input needs floatModelFile to validate against'); // a caller's bug
  if (options.mode === 'dynamic' && options.target === 'tensorrt')
    fail(
      'BAD_OPTION',
      'TensorRT cannot run dynamic quantization: it has no DynamicQuantizeLinear (nor MatMulInteger/ConvInteger). ' +
        'Quantize statically for TensorRT instead: --calib <data> --target tensorrt (add --calib-cache for a calibration cache).',
    );
  // Synthetic samples follow the float model's inputs, which fp16 without keepIoTypes changes.
  const inputs = options.validate !== false && !source ? modelInputs(input, options.inputShapes) : [];
  const model = use.consume ? input : cloneModel(input);
  const { prepare, report, details } = await MODES[options.mode](model, options, stages);
  refuseNothingDone(options, report, details);
  stampModel(model, options.mode, options);
  const warnings = [...report.warnings];
  if (options.validate === false) await timed(stages, 'validation', () => checkLoads(model, options.threads ? { threads: options.threads } : {}));
  const validated = options.validate === false ? undefined : await timed(stages, 'validation', () => validate(input, model, options, source ? finiteSource(source) : syntheticSource(inputs, { count: VALIDATION_SAMPLES, seed: options.seed, values: options.inputValues }), !source, use, warnings));
  return { model, mode: options.mode, prepare, report, ...details, ...validated, warnings, timings: { totalMs: performance.now() - start, stages } };
}

/** What a mode did to the model: the preparation, the nodes rewritten and left float, the mode's own report. */
interface ModeOutcome {
  prepare: PrepareReport;
  report: OfflineReport;
  details: Pick<OfflineResult, 'weightOnly' | 'float16'>;
}

const MODES: Record<OfflineMode, (model: ModelProto, options: OfflineOptions, stages: StageTimes) => Promise<ModeOutcome>> = {
  async dynamic(model, options, stages) {
    if (options.weightType && options.weightType !== 'int8' && options.weightType !== 'uint8')
      fail('BAD_OPTION', `dynamic quantization takes int8 or uint8 weights (MatMulInteger and ConvInteger have no other), not ${options.weightType}.`);
    // DynamicQuantizeLinear needs opset 11; per-channel weights fold BatchNorm first.
    const prepare = await timed(stages, 'prepare', () => prepareModel(model));
    // Subgraphs count: Silero VAD keeps all of its convolutions inside If branches.
    let hasConv = false;
    forEachGraph(model.graph!, (g) => (hasConv ||= g.node.some((n) => n.opType === 'Conv')));
    const report = await timed(stages, 'export', () =>
      exportDynamic(model, { weightType: options.weightType ?? (hasConv ? 'uint8' : 'int8'), perChannel: options.perChannel, opTypes: options.opTypes, exclude: options.exclude }),
    );
    return { prepare, report, details: {} };
  },

  async 'weight-only'(model, options, stages) {
    // Opsets are left as they are: MatMulNBits runs at any, and --format qdq says itself when 21 is missing.
    const prepare = await timed(stages, 'prepare', () => prepareModel(model, { minOpset: 1, rewrite: false }));
    const { bits, blockSize, symmetric, weightMethod: method, format, accuracyLevel, quantizeEmbeddings, opTypes, exclude } = options;
    const progress = options.onProgress && ((done: number, total: number) => options.onProgress!('quantizing', done, total));
    const weightOnly = await timed(stages, 'export', () =>
      exportWeightOnly(model, { bits, blockSize, symmetric, method, format, accuracyLevel, quantizeEmbeddings, opTypes, exclude }, progress),
    );
    return { prepare, report: weightOnly, details: { weightOnly } };
  },

  async fp16(model, options, stages) {
    const prepare = await timed(stages, 'prepare', () => prepareModel(model, { minOpset: 1, rewrite: false }));
    // --exclude names node names or op types, as in the other modes.
    const exclude = options.exclude ?? [];
    const unmatched = selectorWarnings(model.graph!, { exclude }, true);
    const float16 = await timed(stages, 'export', () =>
      exportFloat16(model, { keepIoTypes: options.keepIoTypes, blockList: [...DEFAULT_FP16_BLOCK_LIST, ...exclude], blockNodes: exclude, overflow: options.overflow }),
    );
    const clamped = float16.clamped.reduce((a, c) => a + c.count, 0);
    const report = {
      quantized: [],
      float: float16.float32Nodes,
      warnings: [...unmatched, ...(clamped ? [`${clamped} value${clamped === 1 ? '' : 's'} beyond float16's ±65504 clamped, in ${float16.clamped.map((c) => c.tensor).join(', ')}.`] : [])],
    };
    return { prepare, report, details: { float16 } };
  },
};

/** A run that changed nothing is refused unless forced: the user probably expected something else. */
function refuseNothingDone(options: OfflineOptions, report: OfflineReport, details: ModeOutcome['details']): void {
  const changed = details.float16 ? details.float16.converted : report.quantized.length;
  if (changed > 0 || options.force) return;
  const why = [...new Set(report.float.map((f) => `${f.op} (${f.reason})`))].slice(0, 6).join(', ');
  fail(
    'BAD_MODEL',
    options.mode === 'fp16'
      ? `nothing to convert: the model has no float32 tensor. Pass --force to write it anyway.`
      : `nothing to quantize in ${options.mode} mode: no op of the model has a constant float weight it can take${why ? ` (left float: ${why})` : ''}. Pass --force to write the model anyway.`,
  );
}

/** Compares the result with the float model; on synthetic samples the float model cannot take, warns instead. */
async function validate(
  input: ModelProto,
  model: ModelProto,
  options: OfflineOptions,
  samples: CalibrationSource,
  synthetic: boolean,
  use: OfflineInputUse,
  warnings: string[],
): Promise<Pick<OfflineResult, 'validation' | 'validatedOn'>> {
  const indices = Array.from({ length: Math.min(VALIDATION_SAMPLES, samples.count) }, (_, i) => i);
  try {
    const validation = await compareModels(use.floatModelFile ?? input, model, samples, indices, { runner: options.threads ? { threads: options.threads } : {} });
    return { validation, validatedOn: samples.description };
  } catch (e) {
    const floatFailed = e instanceof OnnxqError && e.code === 'RUNTIME' && /the float model/.test(e.message);
    if (!floatFailed || !synthetic) throw e;
    // Synthetic inputs a model cannot take (a sample rate of 1, a sequence of length 1) are the
    // inputs' fault, not the quantized model's: say which flags give it proper ones.
    warnings.push(
      `the model was written but not validated: ${e.message.replace(/^onnxruntime failed to run /, 'on synthetic inputs, onnxruntime failed to run ')} ` +
        'Give real samples with --calib, or fix the synthetic ones with --input-shape NAME=D0,D1,… and --input-value NAME=V.',
    );
    await checkLoads(model, options.threads ? { threads: options.threads } : {});
    return {};
  }
}
