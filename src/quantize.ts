/**
 * Static post-training quantization in two steps, so that one calibration serves many methods and
 * targets: `calibrate()` prepares the model once, plans it and gathers statistics on the calibration
 * samples in one pass; `quantizeCalibrated()` resolves a plan into scales and zero points, writes the
 * QDQ model for one method and target, and validates it. `quantize()` does both. No file system here:
 * see src/node/quantize-file.ts for paths and writes.
 */
import { cloneModel } from './onnx/external.js';
import { clone } from '@bufbuild/protobuf';
import { NodeProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { collectStats, type CalibrationPhase, type CollectOptions } from './calibrate/collect.js';
import { needsOf } from './calibrate/methods.js';
import type { RangeMethodName, TensorStats } from './calibrate/observer.js';
import { batchable } from './data/inputs.js';
import { finiteSource } from './data/finite.js';
import { checkModel } from './ir/check.js';
import type { CalibrationSource } from './data/source.js';
import { selectSamples, type Selection } from './data/select.js';
import { fail } from './errors.js';
import { exportQdq, type ExportReport } from './export/qdq.js';
import { rangesTable, type RangeRecord } from './export/ranges.js';
import { tensorrtAmax } from './export/trt-cache.js';
import { Graph } from './ir/graph.js';
import { stampModel } from './ir/model.js';
import type { ValueType } from './ir/types.js';
import type { QuantType } from './quant/spec.js';
import { DT } from './onnx/dtype.js';
import { prepareGraph, type PrepareReport } from './passes/prepare.js';
import { fuseMatMulBias } from './passes/fuse-matmul-bias.js';
import { equalizeLayers } from './passes/equalize.js';
import { buildPlan, planKey, type PlanOptions, type PlanResult } from './plan/build.js';
import { checkPlan } from './plan/json.js';
import type { QuantPlan, TargetName } from './plan/plan.js';
import { resolvePlan } from './plan/resolve.js';
import { checkLoads, classOutputs, compareModels, type ValidationReport } from './analyze/validate.js';
import { easyQuant, type EasyQuantReport } from './refine/easyquant.js';
import { adaRound, checkLearnedRounding, type AdaRoundOptions, type AdaRoundReport } from './refine/adaround.js';
import { COMPARED_METHODS, isRefineMethod, rangeMethodOf, type MethodName } from './refine/methods.js';
import type { Augmentation, RunnerOptions } from './runtime/runner.js';
import { measureValueTypes } from './runtime/value-types.js';
import { timed, type StageTimes } from './timings.js';
import { mixedPrecision, type Budget, type ExportWith } from './refine/mixed-precision.js';
import type { MethodComparison, MixedPrecisionReport } from './analyze/report.js';
import { compareMethods } from './refine/compare-methods.js';
import { correctBiases, type BiasCorrectionReport } from './refine/bias-correction.js';

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
  /** Cross-layer equalization of Conv/Gemm pairs joined by Relu-like ops before calibrating (passes/equalize.ts). */
  equalize?: boolean;
  /** Methods whose statistics to gather (default: `method`, or minmax). */
  methods?: RangeMethodName[];
  method?: RangeMethodName;
  /** Observe every float tensor (to try every target); default: only what the plans need. */
  allTensors?: boolean;
  /**
   * Also observe every float tensor of the model as it was before onnxq rewrote it, under its own name,
   * for a TensorRT calibration cache (see `QuantizeResult.tensorrtAmax`).
   */
  tensorrtCache?: boolean;
  /**
   * Values of each tensor per sample that histograms (and ADMM's sample) see: a strided subsample
   * taken inside onnxruntime (default 4096; 0 = every value, exact but several times slower).
   */
  valuesPerSample?: number;
  /** Plans whose tensors to observe (e.g. edited by the user); checked against the prepared model. */
  plans?: QuantPlan[];
  /** Plan options to build plans for and observe their tensors (default: one plan with `method`). */
  planOptions?: PlanOptions[];
  onProgress?: (phase: CalibrationPhase, done: number, total: number) => void;
}

export interface QuantizeOptions extends Omit<PlanOptions, 'method'>, Omit<CalibrateOptions, 'plans' | 'planOptions' | 'methods' | 'allTensors' | 'method' | 'onProgress'> {
  /** Progress of calibration, and of the searches after it (mixed precision, the analysis of --report). */
  onProgress?: (phase: string, done: number, total: number) => void;
  /** A range method, or 'eq': EasyQuant's scale search (src/refine/easyquant.ts) from entropy ranges. Ignored with `plan`. */
  method?: MethodName;
  /** EasyQuant: candidate scales per search (default 100). */
  eqSteps?: number;
  /** EasyQuant: calibration samples the search runs on (default 50). */
  eqSamples?: number;
  /** EasyQuant: what the search maximises per layer (default sqnr; cosine as the paper). */
  eqObjective?: 'cosine' | 'sqnr';
  /** With method 'adaround' (learned weight rounding, src/refine/adaround.ts): layer or block reconstruction, iterations, samples … */
  adaround?: Omit<AdaRoundOptions, 'threads' | 'seed' | 'onProgress'>;
  /** Percentile for the percentile method (default 99.999). */
  percentile?: number;
  /** A plan to use instead of building one (e.g. edited by the user); entries with parameters keep them. */
  plan?: QuantPlan;
  /** Compare the result with the float model on held-out samples (default true). */
  validate?: boolean;
  /** The float model's file, for validation to let onnxruntime read it (one copy of the weights fewer than encoding `input` again). */
  floatModelFile?: string;
  /**
   * Mixed precision: take tensors out of int8, most useful first, until the model meets this budget on
   * the held-out samples (refine/mixed-precision.ts).
   */
  budget?: Budget;
  /** Quantize with every method from one calibration and keep the best on the held-out samples (`--method all`). */
  compareMethods?: boolean;
  /** Empirical bias correction of Conv/Gemm layers on calibration samples (refine/bias-correction.ts). */
  biasCorrection?: boolean;
}

/**
 * How a call may treat the model it is given, for callers that own it (quantizeFile): rewrite it in
 * place instead of a copy — after that, validation needs the float model's file (`floatModelFile`).
 */
export interface InputUse {
  consume?: boolean;
}

/** A float model as onnxq quantizes it (prepared, its value types measured), with its samples chosen. */
export interface PreparedFloat {
  /** The model as given (prepared in place when consumed). */
  input: ModelProto;
  /** Outputs of the model as given that hold class scores, for top-1 agreement. */
  classOutputs: Set<string>;
  /** The prepared float model (opset upgraded, BatchNorm folded …). */
  model: ModelProto;
  /** Its graph, indexed. */
  graph: Graph;
  prepare: PrepareReport;
  types: Map<string, ValueType>;
  source: CalibrationSource;
  selection: Selection;
  /** The float model's own tensors that the preparation rewrote (with tensorrtCache), and their nodes. */
  reference?: Graph;
  /** With tensorrtCache: the float model's own float tensors, in its order. */
  tensorrtTensors?: string[];
  stages: StageTimes;
}

/** A prepared model with statistics for its tensors: what every quantization of it starts from. */
export interface Calibration extends Omit<PreparedFloat, 'reference'> {
  stats: Map<string, TensorStats>;
  methods: RangeMethodName[];
  /** Plans built while calibrating, reused by quantizeCalibrated() for the same plan options. */
  plans: Map<string, PlanResult>;
  threads?: number;
  calibrateMs: number;
}

export interface QuantizeResult {
  model: ModelProto;
  /** The resolved plan: every quantized tensor with its scale and zero point. */
  plan: QuantPlan;
  ranges: Record<string, RangeRecord>;
  /** Per float tensor of the float model, the symmetric clip threshold for TensorRT's cache (with tensorrtCache). */
  tensorrtAmax?: Map<string, number>;
  prepare: PrepareReport;
  export: ExportReport & { adjustedWeightChannels: number };
  validation?: ValidationReport;
  /** With method 'eq': the layers searched, their cosines before and after, and the time. */
  easyQuant?: EasyQuantReport;
  /** With method 'adaround': the layers or blocks reconstructed, their output SQNR before and after, and the time. */
  adaRound?: AdaRoundReport;
  warnings: string[];
  samples: { calibration: number; heldOut: number; shared: boolean };
  timings: { calibrateMs: number; totalMs: number; stages: StageTimes };
  /** With a budget: what was taken out of int8 and what each step bought. */
  mixedPrecision?: MixedPrecisionReport;
  /** With compareMethods: every method's output SQNR, top-1 and time on the held-out samples. */
  methods?: MethodComparison[];
  /** With biasCorrection: how many layers' biases were corrected, on how many samples. */
  biasCorrection?: BiasCorrectionReport;
}

/**
 * The preparation every static quantization starts with: the model checked, rewritten for quantization
 * (prepare.ts, then MatMul + bias → Gemm), its value types measured on the first sample. Analysis runs it
 * on a float model to compare it with quantized ones as onnxq made them.
 */
export async function prepareFloat(input: ModelProto, data: CalibrationSource, options: CalibrateOptions = {}, use: InputUse = {}): Promise<PreparedFloat> {
  const stages: StageTimes = {};
  const source = finiteSource(data);
  checkModel(input, 'the model');
  const outputs = classOutputs(input);
  const model = use.consume ? input : cloneModel(input);
  // ConvTranspose → 1×1 Conv + DepthToSpace only when every plan is for onnxruntime (TensorRT has an integer
  // ConvTranspose), and not where the plan options speak of the ConvTranspose.
  const targets = options.plans ? options.plans.map((p) => p.target) : (options.planOptions ?? [{}]).map((p) => p.target ?? 'ort-qdq');
  const asConv = targets.every((t) => t === 'ort-qdq') ? (ct: NodeProto) => !(options.planOptions ?? []).some((p) => namesConvTranspose(p, ct)) : undefined;
  // QuantizeLinear/DequantizeLinear of int4/uint4 exist from opset 21.
  const minOpset = storesFourBits(options) ? 21 : undefined;
  const prepared = await timed(stages, 'prepare', () => prepareGraph(model, { keepReference: options.tensorrtCache, convTransposeAsConv: asConv, ...(minOpset ? { minOpset } : {}) }));
  const { graph, report: prepare, reference } = prepared;
  const selection = selectSamples(source.count, options.calibSamples, options.seed ?? 0, options.holdOut ?? true);
  const first = await source.load(selection.calibration[0]!);
  const types = await timed(stages, 'valueTypes', () => measureValueTypes(model, first, { ...runnerOptions(options.threads), add: referenceOnly(graph, reference) }));
  // Listed before the MatMul + bias fusion, which drops the types of the values it removes.
  const tensorrtTensors = reference ? floatTensors(reference, types) : undefined;
  await timed(stages, 'prepare', () => {
    prepare.matmulBiasFused = fuseMatMulBias(graph, types, (mm, add) => (options.planOptions ?? []).some((p) => namesEither(p, mm, add)));
    if (options.equalize) prepare.layersEqualized = equalizeLayers(graph);
    graph.commit();
  });
  return { input, classOutputs: outputs, model, graph, prepare, types, source, selection, ...(reference ? { reference, tensorrtTensors } : {}), stages };
}

/** Prepares, plans and gathers statistics: everything before scales and zero points. */
export async function calibrate(input: ModelProto, data: CalibrationSource, options: CalibrateOptions = {}, use: InputUse = {}): Promise<Calibration> {
  const { classOutputs: outputs, model, graph, prepare, types, source, selection, reference, tensorrtTensors, stages } = await prepareFloat(input, data, options, use);

  const methods = options.methods ?? [options.method ?? 'minmax'];
  const plans = new Map<string, PlanResult>();
  await timed(stages, 'plan', () => {
    for (const p of options.plans ?? []) checkPlan(p, graph, 'the plan');
    if (!options.plans) for (const p of options.planOptions ?? [{ method: methods[0] }]) plans.set(planKey(p), buildPlan(graph, types, p));
  });
  const observed = new Set(options.allTensors ? floatTensors(graph, types) : tensorsToObserve([...(options.plans ?? []), ...[...plans.values()].map((r) => r.plan)]));
  for (const t of tensorrtTensors ?? []) observed.add(t);

  const start = performance.now();
  const stats = await timed(stages, 'calibration', () =>
    observed.size === 0
      ? new Map<string, TensorStats>()
      : collectStats(model, [...observed], source, selection.calibration, { ...collectOptions(model, types, methods, options), add: referenceOnly(graph, reference) }),
  );
  return {
    input,
    classOutputs: outputs,
    model,
    graph,
    prepare,
    types,
    source,
    selection,
    stats,
    methods,
    plans,
    ...(tensorrtTensors ? { tensorrtTensors } : {}),
    threads: options.threads,
    calibrateMs: performance.now() - start,
    stages,
  };
}

/**
 * Quantizes a calibrated model for one method and target. The calibration is not changed, unless
 * `use.consume` lets the export rewrite its prepared model in place (then it serves this call only).
 */
export async function quantizeCalibrated(cal: Calibration, options: QuantizeOptions = {}, use: InputUse = {}): Promise<QuantizeResult> {
  const start = performance.now();
  const stages: StageTimes = {};
  const warnings: string[] = [];
  if (cal.selection.shared) warnings.push('the calibration data holds one sample: it is used both to calibrate and to validate.');
  if (cal.input === cal.model && options.validate !== false && !options.floatModelFile)
    throw new Error('quantizeCalibrated: a consumed input needs floatModelFile to validate against'); // a caller's bug
  const model = use.consume ? cal.model : cloneModel(cal.model);
  const graph = use.consume ? cal.graph : new Graph(model.graph!);
  const plan = await timed(stages, 'plan', () => planFor(cal, graph, rangeOptions(options), warnings));
  const rangeOpts = options.percentile !== undefined ? { percentile: options.percentile } : {};
  let refined: EasyQuantReport | undefined;
  let rounded: AdaRoundReport | undefined;
  if (isRefineMethod(options.method) && !options.plan) {
    // The search runs on the float model, before the export rewrites it; resolving again afterwards only refits the biases.
    // AdaRound learns integers for the scales resolved here, biases already fitted (fitBiases may enlarge weight scales).
    resolvePlan(plan, cal.stats, (n) => graph.constant(n), rangeOpts);
    const threads = options.threads ?? cal.threads;
    if (options.method === 'adaround')
      rounded = await timed(stages, 'refine', () => adaRound(cal, model, graph, plan, { ...options.adaround, threads, seed: options.seed, onProgress: (d, t) => options.onProgress?.('adaround', d, t) }));
    else refined = await timed(stages, 'refine', () => easyQuant(cal, plan, { steps: options.eqSteps, samples: options.eqSamples, objective: options.eqObjective, threads }));
  }
  let biasCorrection: BiasCorrectionReport | undefined;
  if (options.biasCorrection) {
    // The weights' parameters first: the correction measures what their rounding shifts.
    resolvePlan(plan, cal.stats, (n) => graph.constant(n), rangeOpts);
    biasCorrection = await timed(stages, 'refine', () => correctBiases(cal, graph, plan, { runner: runnerOptions(options.threads ?? cal.threads) }));
  }
  const { exported, resolved } = await timed(stages, 'export', () => {
    const resolved = resolvePlan(plan, cal.stats, (n) => graph.constant(n), rangeOpts);
    if (rounded) checkLearnedRounding(graph, plan);
    const exported = exportQdq(graph, model, plan);
    stampModel(model, 'static', options);
    return { exported, resolved };
  });
  const tensorrtAmax = options.tensorrtCache ? cacheAmax(cal, options) : undefined;

  let validation: ValidationReport | undefined;
  if (options.validate === false || cal.selection.heldOut.length === 0) await timed(stages, 'validation', () => checkLoads(model, runnerOptions(options.threads ?? cal.threads)));
  if (options.validate !== false && cal.selection.heldOut.length === 0)
    warnings.push('no samples were held out at calibration (holdOut: false), so the model was not validated.');
  else if (options.validate !== false)
    validation = await timed(stages, 'validation', () =>
      compareModels(options.floatModelFile ?? cal.input, model, cal.source, cal.selection.heldOut, {
        runner: runnerOptions(options.threads ?? cal.threads),
        classOutputs: cal.classOutputs,
      }),
    );
  return {
    model,
    plan,
    ranges: rangesTable(plan),
    ...(tensorrtAmax ? { tensorrtAmax } : {}),
    prepare: cal.prepare,
    export: { ...exported, adjustedWeightChannels: resolved.adjustedWeightChannels },
    ...(validation ? { validation } : {}),
    ...(refined ? { easyQuant: refined } : {}),
    ...(rounded ? { adaRound: rounded } : {}),
    ...(biasCorrection ? { biasCorrection } : {}),
    warnings,
    samples: { calibration: cal.selection.calibration.length, heldOut: cal.selection.heldOut.length, shared: cal.selection.shared },
    timings: { calibrateMs: cal.calibrateMs, totalMs: performance.now() - start + cal.calibrateMs, stages: { ...cal.stages, ...stages } },
  };
}

/** Calibrates for one method and target and quantizes. */
export async function quantize(input: ModelProto, source: CalibrationSource, options: QuantizeOptions = {}, use: InputUse = {}): Promise<QuantizeResult> {
  const start = performance.now();
  const method = rangeMethodOf(options.method ?? 'minmax');
  if (use.consume && options.validate !== false && !options.floatModelFile) throw new Error('quantize: a consumed input needs floatModelFile to validate against'); // a caller's bug
  if (options.compareMethods && (options.plan || options.budget || options.tensorrtCache))
    fail('BAD_OPTION', 'comparing every method (--method all) chooses the ranges itself: it does not combine with a plan, a mixed-precision budget or a TensorRT cache.');
  if ((options.budget || options.compareMethods) && options.validate === false)
    fail('BAD_OPTION', `${options.budget ? 'a mixed-precision budget' : 'comparing every method (--method all)'} is measured on held-out samples; drop --no-validate (validate: false).`);
  if (options.adaround && options.method !== 'adaround' && !options.compareMethods)
    fail('BAD_OPTION', `AdaRound's options (reconstruction, iterations, samples) apply to method adaround; the method here is ${options.method ?? 'minmax'}.`);
  if (options.budget && options.plan) fail('BAD_OPTION', 'a mixed-precision budget chooses what stays in int8 itself; it cannot start from a plan (--plan). Drop one of them.');
  if (options.budget && 'maxSqnrDrop' in options.budget && options.target === 'tensorrt')
    fail('BAD_OPTION', '--max-sqnr-drop is measured against 16-bit activations, which target tensorrt does not run; give --min-sqnr instead.');
  const all = options.compareMethods ? COMPARED_METHODS : undefined;
  const cal = await calibrate(input, source, {
    ...options,
    holdOut: options.validate !== false,
    // A plan names the methods of its tensors; --method then only serves the TensorRT cache.
    methods: all ? [...new Set(all.map(rangeMethodOf))] : options.plan ? [...new Set([...planMethods(options.plan), ...(options.tensorrtCache ? [method] : [])])] : [method],
    method,
    ...(options.plan ? { plans: [options.plan] } : { planOptions: [rangeOptions(options)] }),
  }, use);
  const floatModel = options.floatModelFile ?? cal.input;
  let result: QuantizeResult;
  if (all) {
    const compared = await compareMethods(cal, floatModel, all, (m) => quantizeCalibrated(cal, { ...options, method: m, validate: false }), { runner: runnerOptions(options.threads) });
    result = { ...compared.result, methods: compared.rows };
  } else if (options.budget) {
    const exportWith: ExportWith = (plan, o) => quantizeCalibrated(cal, { ...options, ...o, ...(plan ? { plan } : {}), validate: false });
    const mp = await mixedPrecision(cal, floatModel, exportWith, { budget: options.budget, classOutputs: cal.classOutputs, runner: runnerOptions(options.threads), onProgress: options.onProgress });
    result = { ...mp.result, mixedPrecision: mp.report };
  } else {
    // The calibration serves this one quantization: its prepared model is exported in place.
    result = await quantizeCalibrated(cal, options, { consume: true });
  }
  if (options.batchSize && options.batchSize > 1 && !batchable(cal.model))
    result.warnings.push(`--batch-size ${options.batchSize} had no effect: the model fixes its batch dimension, so samples run one at a time.`);
  result.timings.totalMs = performance.now() - start;
  return result;
}

/** The options with the range method a refinement (eq) starts from, as plans and calibration know methods. */
function rangeOptions<T extends { method?: MethodName }>(options: T): Omit<T, 'method'> & { method?: RangeMethodName } {
  return { ...options, method: options.method === undefined ? undefined : rangeMethodOf(options.method) };
}

/** The plan to resolve, as a copy of its own: the one given, the one calibrate() built for these options, or a new one. */
function planFor(cal: Calibration, graph: Graph, options: PlanOptions & Pick<QuantizeOptions, 'plan'>, warnings: string[]): QuantPlan {
  let plan: QuantPlan;
  if (options.plan) {
    checkPlan(options.plan, graph, 'the plan');
    plan = structuredClone(options.plan);
  } else {
    const built = cal.plans.get(planKey(options)) ?? buildPlan(graph, cal.types, options);
    warnings.push(...built.warnings);
    plan = structuredClone(built.plan);
  }
  if (Object.keys(plan.activations).length === 0 && Object.keys(plan.weights).length === 0) {
    const why = [...new Set(plan.float.map((f) => `${f.op} (${f.reason})`))].slice(0, 8).join(', ');
    fail('BAD_MODEL', `nothing to quantize for target ${plan.target}: every op stays float${why ? ` (${why})` : ''}. Check --exclude, --op-types and --target.`);
  }
  for (const e of Object.values(plan.activations))
    if (e.method && !e.params && !cal.methods.includes(e.method) && !satisfiedBy(e.method, cal.methods))
      fail('BAD_OPTION', `the plan asks for the ${e.method} method, but the calibration gathered statistics for ${cal.methods.join(', ')} only.`);
  return plan;
}

/** The TensorRT cache's clip thresholds, from the statistics calibrate() gathered for the float model's tensors. */
function cacheAmax(cal: Calibration, options: QuantizeOptions): Map<string, number> {
  if (!cal.tensorrtTensors) fail('BAD_OPTION', 'a TensorRT calibration cache needs statistics of the float model: calibrate with tensorrtCache: true.');
  const method = rangeMethodOf(options.method ?? 'minmax');
  if (!cal.methods.includes(method)) fail('BAD_OPTION', `the TensorRT cache asks for the ${method} method, but the calibration gathered statistics for ${cal.methods.join(', ')} only.`);
  return tensorrtAmax(cal.tensorrtTensors, cal.stats, method, options.percentile !== undefined ? { percentile: options.percentile } : {});
}

/**
 * The nodes (and weights) of the float model that onnxq's rewrites replaced: added to the prepared
 * model for a run, they compute the float model's own tensors beside the prepared ones (a tensor that
 * keeps its name keeps its values, so only what the rewrite removed needs computing again).
 */
function referenceOnly(graph: Graph, reference: Graph | undefined): Augmentation | undefined {
  if (!reference) return undefined;
  const known = (name: string) => !name || !!graph.producer(name) || graph.isGraphInput(name) || !!graph.initializer(name);
  const replaced = new Set(reference.nodes.filter((n) => n.output.some((o) => !known(o))));
  const initializers = reference.proto.initializer.filter((t) => !known(t.name) && reference.consumers(t.name).some((n) => replaced.has(n)));
  // Copies under names of their own: node names are unique in a model, and the prepared graph kept the originals'.
  const nodes = [...replaced].map((n) => Object.assign(clone(NodeProtoSchema, n), { name: graph.uniqueName(`${n.name}_float`) }));
  return { nodes, initializers };
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

/**
 * Whether plan options speak of a ConvTranspose (--exclude by name or op type, or --op-types with only one
 * of ConvTranspose and Conv): then it stays a ConvTranspose.
 */
function namesConvTranspose(p: PlanOptions, ct: NodeProto): boolean {
  const exclude = p.exclude ?? [];
  if ([ct.name, 'ConvTranspose'].some((n) => n && exclude.includes(n))) return true;
  return !!p.opTypes && p.opTypes.includes('ConvTranspose') !== p.opTypes.includes('Conv');
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

/** Whether some plan or plan options store tensors in 4 bits (int4/uint4). */
function storesFourBits(options: CalibrateOptions): boolean {
  const four = (t: QuantType | undefined) => t === 'int4' || t === 'uint4';
  return (
    (options.planOptions ?? []).some((p) => (p.weightBits ?? 8) <= 4 || four(p.weightType) || four(p.activationType)) ||
    (options.plans ?? []).some((p) => [...Object.values(p.activations), ...Object.values(p.weights)].some((e) => four(e.dtype)))
  );
}

/** Elements of each value for one sample, from the measured shapes. */
export function sizes(types: Map<string, ValueType>): Map<string, number> {
  return new Map([...types].map(([n, t]) => [n, (t.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1)]));
}

function planMethods(plan: QuantPlan): RangeMethodName[] {
  return [...new Set(Object.values(plan.activations).flatMap((e) => (e.method && !e.params ? [e.method] : [])))];
}

/** Whether what was gathered for some methods serves another (minmax needs nothing beyond min and max). */
function satisfiedBy(method: RangeMethodName, gathered: RangeMethodName[]): boolean {
  const have = needsOf(gathered);
  const need = needsOf([method]);
  return (Object.keys(need) as (keyof typeof need)[]).every((k) => !need[k] || have[k]);
}

/** Tensors whose range a plan still has to calibrate. */
function tensorsToObserve(plans: QuantPlan[]): string[] {
  const set = new Set<string>();
  for (const p of plans) for (const [name, e] of Object.entries(p.activations)) if (e.method && !e.params) set.add(name);
  return [...set];
}

/** The graph's float tensors that are not constants: its inputs, then node outputs in order. */
function floatTensors(graph: Graph, types: Map<string, ValueType>): string[] {
  const names = [...graph.inputs.map((v) => v.name), ...graph.nodes.flatMap((n) => n.output)];
  return names.filter((n) => types.get(n)?.dtype === DT.FLOAT && !graph.constant(n));
}

function runnerOptions(threads?: number): RunnerOptions {
  return threads ? { threads } : {};
}

export type { TargetName };
