/**
 * Static post-training quantization in two steps, so that one calibration serves many methods and
 * targets: `calibrate()` prepares the model and gathers statistics on the calibration samples;
 * `quantizeCalibrated()` turns them into a QDQ model for one method and target, and validates it.
 * `quantize()` does both. No file system here: see src/node/quantize-file.ts for paths and writes.
 */
import { clone, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { collectStats, type CalibrationPhase, type CollectOptions } from './calibrate/collect.js';
import { needsOf, RANGE_METHODS } from './calibrate/methods.js';
import type { RangeMethodName, TensorStats } from './calibrate/observer.js';
import { activationParams, activationRanges, weightParams } from './calibrate/params.js';
import type { CalibrationSource, ModelInput } from './data/source.js';
import { selectSamples, type Selection } from './data/select.js';
import { fail } from './errors.js';
import { exportQdq, type ExportReport } from './export/qdq.js';
import { rangesTable, type RangeRecord } from './export/ranges.js';
import { Graph } from './ir/graph.js';
import { setMetadata } from './ir/model.js';
import { formatShape, typeOf, type Dim, type ValueType } from './ir/types.js';
import { DT, ortTypeName } from './onnx/dtype.js';
import { prepareModel, type PrepareReport } from './passes/prepare.js';
import { buildPlan, type PlanOptions } from './plan/build.js';
import { checkPlan } from './plan/json.js';
import type { QuantPlan, TargetName } from './plan/plan.js';
import { compareModels, type ValidationReport } from './analyze/validate.js';
import { measureValueTypes } from './runtime/value-types.js';
import { fuseMatMulBias } from './passes/fuse-matmul-bias.js';
import { VERSION } from './version.js';

export interface CalibrateOptions {
  /** Calibration samples to use (default 512; fewer when the source has fewer). */
  calibSamples?: number;
  /** Seed of every random choice (sample selection, reservoirs); default 0. */
  seed?: number;
  /** onnxruntime intra-op threads. */
  threads?: number;
  /** Samples per calibration run where the model's batch dimension is free (default 1). */
  batchSize?: number;
  /** Keep 10 % of the samples (1 to 64) aside to validate on (default true). */
  holdOut?: boolean;
  /** Methods whose statistics to gather (default: `method`, or minmax). */
  methods?: RangeMethodName[];
  method?: RangeMethodName;
  /** Observe every float tensor (for a TensorRT cache, or to try every target); default: only what `plan` needs. */
  allTensors?: boolean;
  /**
   * Values of each tensor per sample that histograms (and ADMM's sample) see: a strided subsample
   * taken inside onnxruntime (default 4096; 0 = every value, exact but several times slower).
   */
  valuesPerSample?: number;
  /** Plans whose tensors to observe when not `allTensors`. */
  plans?: QuantPlan[];
  /** Plan options to build plans for and observe their tensors (default: one plan with `method`). */
  planOptions?: PlanOptions[];
  onProgress?: (phase: CalibrationPhase, done: number, total: number) => void;
}

export interface QuantizeOptions extends PlanOptions, Omit<CalibrateOptions, 'plans' | 'planOptions' | 'methods' | 'allTensors'> {
  /** Percentile for the percentile method (default 99.999). */
  percentile?: number;
  /** A plan to use instead of building one (e.g. edited by the user). */
  plan?: QuantPlan;
  /** Compare the result with the float model on held-out samples (default true). */
  validate?: boolean;
  /** Also measure a TensorRT clip threshold (amax) for every float tensor of the float model, for a calibration cache. */
  tensorrtCache?: boolean;
  /** Options recorded in the model's metadata (the CLI passes its command line). */
  recordOptions?: Record<string, unknown>;
  /** The float model's file, for validation to let onnxruntime read it (one copy of the weights fewer than encoding `input` again). */
  floatModelFile?: string;
}

/** A prepared model with statistics for its tensors: what every quantization of it starts from. */
export interface Calibration {
  input: ModelProto;
  /** The prepared float model (opset upgraded, BatchNorm folded …) the statistics belong to. */
  model: ModelProto;
  prepare: PrepareReport;
  types: Map<string, ValueType>;
  source: CalibrationSource;
  selection: Selection;
  stats: Map<string, TensorStats>;
  methods: RangeMethodName[];
  threads?: number;
  calibrateMs: number;
}

export interface QuantizeResult {
  model: ModelProto;
  plan: QuantPlan;
  ranges: Record<string, RangeRecord>;
  /** Per float tensor, the symmetric clip threshold for TensorRT's cache (with tensorrtCache). */
  tensorrtAmax?: Map<string, number>;
  prepare: PrepareReport;
  export: ExportReport;
  validation?: ValidationReport;
  warnings: string[];
  samples: { calibration: number; heldOut: number; shared: boolean };
  timings: { calibrateMs: number; totalMs: number };
}

/** The inputs a user feeds (initializers excluded), with --input-shape overrides applied. */
export function modelInputs(model: ModelProto, overrides: Record<string, number[]> = {}): ModelInput[] {
  const graph = new Graph(model.graph!);
  const inputs = graph.inputs.map((v) => {
    const t = typeOf(v);
    const declared = t?.shape;
    const given = overrides[v.name];
    if (given && declared) {
      // --input-shape fixes the free dimensions; the rank and the fixed ones are the model's.
      const clash = given.length !== declared.length || declared.some((d, i) => typeof d === 'number' && d !== given[i]);
      if (clash)
        fail(
          'BAD_OPTION',
          `--input-shape ${v.name}=${given.join(',')} does not fit the input, which is ${formatShape(declared)}: give ${declared.length} dimensions and keep the fixed ones.`,
        );
    }
    const shape: Dim[] = given ?? declared ?? [];
    return { name: v.name, dtype: ortTypeName(t?.dtype ?? DT.FLOAT), shape };
  });
  for (const name of Object.keys(overrides))
    if (!inputs.some((i) => i.name === name))
      fail('BAD_OPTION', `--input-shape names '${name}', but the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}.`);
  return inputs;
}

/** The prepared model, its value types and the sample selection: everything before statistics. */
export async function prepareCalibration(input: ModelProto, source: CalibrationSource, options: CalibrateOptions = {}) {
  const model = clone(ModelProtoSchema, input);
  const prepare = prepareModel(model);
  const selection = selectSamples(source.count, options.calibSamples, options.seed ?? 0, options.holdOut ?? true);
  const types = await measureValueTypes(model, await source.load(selection.calibration[0]!), runnerOptions(options.threads));
  const graph = new Graph(model.graph!);
  prepare.matmulBiasFused = fuseMatMulBias(graph, types, (mm, add) => (options.planOptions ?? []).some((p) => namesEither(p, mm, add)));
  graph.commit();
  return { model, prepare, selection, types };
}

export async function calibrate(input: ModelProto, source: CalibrationSource, options: CalibrateOptions = {}): Promise<Calibration> {
  const { model, prepare, selection, types } = await prepareCalibration(input, source, options);
  const graph = new Graph(model.graph!);
  const methods = options.methods ?? [options.method ?? 'minmax'];
  for (const p of options.plans ?? []) checkPlan(p, graph, 'the plan');
  const plans = [...(options.plans ?? [])];
  if (!options.plans) for (const p of options.planOptions ?? [{ method: methods[0] }]) plans.push(buildPlan(graph, types, p).plan);
  const observed = options.allTensors ? floatTensors(graph, types) : tensorsToObserve(plans);
  const start = performance.now();
  const stats = observed.length === 0 ? new Map<string, TensorStats>() : await collectStats(model, observed, source, selection.calibration, collectOptions(model, types, methods, options));
  return { input, model, prepare, types, source, selection, stats, methods, threads: options.threads, calibrateMs: performance.now() - start };
}

/** Quantizes a calibrated model for one method and target. The calibration is not changed. */
export async function quantizeCalibrated(cal: Calibration, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  const start = performance.now();
  const warnings: string[] = [];
  if (cal.selection.shared) warnings.push('the calibration data holds one sample: it is used both to calibrate and to validate.');
  const model = clone(ModelProtoSchema, cal.model);
  const graph = new Graph(model.graph!);
  let plan: QuantPlan;
  if (options.plan) {
    plan = options.plan;
    checkPlan(plan, graph, 'the plan');
  }
  else {
    const built = buildPlan(graph, cal.types, options);
    plan = built.plan;
    warnings.push(...built.warnings);
  }
  if (Object.keys(plan.activations).length === 0 && Object.keys(plan.weights).length === 0) {
    const why = [...new Set(plan.float.map((f) => `${f.op} (${f.reason})`))].slice(0, 8).join(', ');
    fail('BAD_MODEL', `nothing to quantize for target ${plan.target}: every op stays float${why ? ` (${why})` : ''}. Check --exclude, --op-types and --target.`);
  }
  for (const e of Object.values(plan.activations))
    if (e.method && !cal.methods.includes(e.method) && !satisfiedBy(e.method, cal.methods))
      fail('BAD_OPTION', `the plan asks for the ${e.method} method, but the calibration gathered statistics for ${cal.methods.join(', ')} only.`);

  const methodOptions = options.percentile !== undefined ? { percentile: options.percentile } : {};
  const ranges = activationRanges(plan, cal.stats, methodOptions);
  const activations = activationParams(plan, ranges);
  const weights = weightParams(plan, (n) => graph.constant(n));

  const exported = exportQdq(model, plan, { activations, weights });
  model.producerName = 'onnxq';
  model.producerVersion = VERSION;
  setMetadata(model, 'onnxq.version', VERSION);
  setMetadata(model, 'onnxq.options', JSON.stringify(options.recordOptions ?? recordable(options)));

  let validation: ValidationReport | undefined;
  if (options.validate !== false && cal.selection.heldOut.length === 0)
    warnings.push('no samples were held out at calibration (holdOut: false), so the model was not validated.');
  else if (options.validate !== false)
    validation = await compareModels(options.floatModelFile ?? cal.input, toBinary(ModelProtoSchema, model), cal.source, cal.selection.heldOut, {
      runner: runnerOptions(options.threads ?? cal.threads),
      classOutputs: classOutputs(cal.input),
    });
  return {
    model,
    plan,
    ranges: rangesTable(plan, ranges, activations, exported.weights),
    prepare: cal.prepare,
    export: exported,
    ...(validation ? { validation } : {}),
    warnings,
    samples: { calibration: cal.selection.calibration.length, heldOut: cal.selection.heldOut.length, shared: cal.selection.shared },
    timings: { calibrateMs: cal.calibrateMs, totalMs: performance.now() - start + cal.calibrateMs },
  };
}

/** Calibrates for one method and target and quantizes. */
export async function quantize(input: ModelProto, source: CalibrationSource, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  const start = performance.now();
  const method = options.method ?? 'minmax';
  const cal = await calibrate(input, source, {
    ...options,
    holdOut: options.validate !== false,
    // A plan names the methods of its tensors; --method then only serves the TensorRT cache.
    methods: options.plan ? [...new Set([...planMethods(options.plan), ...(options.tensorrtCache ? [method] : [])])] : [method],
    ...(options.plan ? { plans: [options.plan] } : { planOptions: [options] }),
  });
  const result = await quantizeCalibrated(cal, options);
  if (options.batchSize && options.batchSize > 1 && !batchable(cal.model))
    result.warnings.push(`--batch-size ${options.batchSize} had no effect: the model fixes its batch dimension, so samples run one at a time.`);
  if (options.tensorrtCache) result.tensorrtAmax = await tensorrtAmax(cal, method, options);
  result.timings.totalMs = performance.now() - start;
  return result;
}

/**
 * A TensorRT calibration cache is keyed by the float model's tensor names, and TensorRT calibrates the
 * network before it fuses anything: so the cache is measured on the model with its graph untouched
 * (opset upgraded, nothing folded), every float tensor, as a symmetric int8 clip threshold.
 */
async function tensorrtAmax(cal: Calibration, method: RangeMethodName, options: QuantizeOptions): Promise<Map<string, number>> {
  const model = clone(ModelProtoSchema, cal.input);
  prepareModel(model, { rewrite: false });
  const graph = new Graph(model.graph!);
  const types = await measureValueTypes(model, await cal.source.load(cal.selection.calibration[0]!), runnerOptions(options.threads));
  const tensors = floatTensors(graph, types);
  const stats = await collectStats(model, tensors, cal.source, cal.selection.calibration, collectOptions(model, types, [method], options));
  const amax = new Map<string, number>();
  const methodOptions = options.percentile !== undefined ? { percentile: options.percentile } : {};
  for (const [name, s] of stats) {
    if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) continue;
    const r = RANGE_METHODS[method].range(s, { dtype: 'int8', symmetric: true }, methodOptions);
    amax.set(name, Math.max(Math.abs(r.min), Math.abs(r.max)));
  }
  return amax;
}

/**
 * Whether plan options speak of a MatMul or the Add after it (--exclude by name or op type, or
 * --op-types with only one of MatMul and Gemm): then the pair stays as the user wrote it.
 */
function namesEither(p: PlanOptions, mm: NodeProto, add: NodeProto): boolean {
  const exclude = p.exclude ?? [];
  if ([mm.name, add.name, 'MatMul', 'Add'].some((n) => n && exclude.includes(n))) return true;
  return !!p.opTypes && p.opTypes.includes('MatMul') !== p.opTypes.includes('Gemm');
}

/** How a calibration pass over `model` runs: what the methods need, threads, batching, progress. */
function collectOptions(model: ModelProto, types: Map<string, ValueType>, methods: RangeMethodName[], options: CalibrateOptions): CollectOptions {
  return {
    needs: needsOf(methods),
    runner: runnerOptions(options.threads),
    batchSize: options.batchSize,
    batchable: batchable(model),
    seed: options.seed,
    sizes: sizes(types),
    valuesPerSample: options.valuesPerSample,
    onProgress: options.onProgress,
  };
}

/** Elements of each value for one sample, from the measured shapes. */
function sizes(types: Map<string, ValueType>): Map<string, number> {
  return new Map([...types].map(([n, t]) => [n, (t.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1)]));
}

function planMethods(plan: QuantPlan): RangeMethodName[] {
  return [...new Set(Object.values(plan.activations).flatMap((e) => (e.method ? [e.method] : [])))];
}

/** Whether what was gathered for some methods serves another (minmax needs nothing beyond min and max). */
function satisfiedBy(method: RangeMethodName, gathered: RangeMethodName[]): boolean {
  const have = needsOf(gathered);
  const need = needsOf([method]);
  return (Object.keys(need) as (keyof typeof need)[]).every((k) => !need[k] || have[k]);
}

function tensorsToObserve(plans: QuantPlan[]): string[] {
  const set = new Set<string>();
  for (const p of plans) for (const [name, e] of Object.entries(p.activations)) if (e.method) set.add(name);
  return [...set];
}

function floatTensors(graph: Graph, types: Map<string, ValueType>): string[] {
  return [...types].filter(([n, t]) => t.dtype === DT.FLOAT && !graph.constant(n)).map(([n]) => n);
}

function runnerOptions(threads?: number) {
  return threads ? { threads } : {};
}

/** True when every input's first dimension is free, so that samples can be stacked into one run. */
function batchable(model: ModelProto): boolean {
  return new Graph(model.graph!).inputs.every((v) => {
    const d = typeOf(v)?.shape?.[0];
    return d === null || typeof d === 'string';
  });
}

/** Outputs that hold class scores on their last axis: produced by (Log)Softmax, or 2-D logits. */
function classOutputs(model: ModelProto): Set<string> {
  const graph = new Graph(model.graph!);
  const out = new Set<string>();
  for (const o of graph.outputs) {
    const p = graph.producer(o.name);
    const rank = typeOf(o)?.shape?.length;
    if (p && (p.opType === 'Softmax' || p.opType === 'LogSoftmax' || (rank === 2 && ['Gemm', 'MatMul', 'Add'].includes(p.opType)))) out.add(o.name);
  }
  return out;
}

function recordable(options: QuantizeOptions): Record<string, unknown> {
  const { plan: _plan, onProgress: _p, recordOptions: _r, floatModelFile: _f, ...rest } = options;
  return rest;
}

export type { TargetName };
