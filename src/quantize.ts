/**
 * quantize(): the whole static post-training quantization, from a float model and calibration data
 * to a QDQ model, its plan, its ranges and a validation report. No file system here: see
 * src/node/quantize-file.ts for paths, images and atomic writes.
 */
import { clone, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { collectStats } from './calibrate/collect.js';
import { RANGE_METHODS } from './calibrate/methods.js';
import type { Range, RangeMethodName } from './calibrate/observer.js';
import { activationParams, activationRanges, weightParams } from './calibrate/params.js';
import type { CalibrationSource, ModelInput } from './data/source.js';
import { selectSamples } from './data/select.js';
import { fail } from './errors.js';
import { exportQdq, type ExportReport } from './export/qdq.js';
import { rangesTable, type RangeRecord } from './export/ranges.js';
import { Graph } from './ir/graph.js';
import { setMetadata } from './ir/model.js';
import { typeOf, type Dim } from './ir/types.js';
import { DT, ortTypeName } from './onnx/dtype.js';
import { prepareModel, type PrepareReport } from './passes/prepare.js';
import { buildPlan, type PlanOptions } from './plan/build.js';
import type { QuantPlan } from './plan/plan.js';
import { compareModels, type ValidationReport } from './analyze/validate.js';
import { measureValueTypes } from './runtime/value-types.js';
import { VERSION } from './version.js';

export interface QuantizeOptions extends PlanOptions {
  /** Calibration samples to use (default 512; fewer when the source has fewer). */
  calibSamples?: number;
  /** Seed of every random choice (sample selection, reservoirs); default 0. */
  seed?: number;
  /** Percentile for the percentile method (default 99.999). */
  percentile?: number;
  /** onnxruntime intra-op threads. */
  threads?: number;
  /** Samples per calibration run where the model's batch dimension is free (default 1). */
  batchSize?: number;
  /** A plan to use instead of building one (e.g. edited by the user). */
  plan?: QuantPlan;
  /** Compare the result with the float model on held-out samples (default true). */
  validate?: boolean;
  /** Also compute a TensorRT clip threshold (amax) for every float tensor, for a calibration cache. */
  tensorrtCache?: boolean;
  /** Options recorded in the model's metadata (the CLI passes its command line). */
  recordOptions?: Record<string, unknown>;
  onProgress?: (phase: 'ranges' | 'histograms', done: number, total: number) => void;
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
    const shape: Dim[] = overrides[v.name] ?? t?.shape ?? [];
    return { name: v.name, dtype: ortTypeName(t?.dtype ?? DT.FLOAT), shape };
  });
  for (const name of Object.keys(overrides))
    if (!inputs.some((i) => i.name === name))
      fail('BAD_OPTION', `--input-shape names '${name}', but the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}.`);
  return inputs;
}

export async function quantize(input: ModelProto, source: CalibrationSource, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  const start = performance.now();
  const warnings: string[] = [];
  const model = clone(ModelProtoSchema, input);
  const prepare = prepareModel(model);
  const graph = new Graph(model.graph!);

  const selection = selectSamples(source.count, options.calibSamples, options.seed ?? 0);
  if (selection.shared) warnings.push('the calibration data holds one sample: it is used both to calibrate and to validate.');
  const runner = options.threads ? { threads: options.threads } : {};
  const firstSample = await source.load(selection.calibration[0]!);
  const types = await measureValueTypes(model, firstSample, runner);

  let plan: QuantPlan;
  if (options.plan) plan = options.plan;
  else {
    const built = buildPlan(graph, types, options);
    plan = built.plan;
    warnings.push(...built.warnings);
  }

  // Tensors whose range is measured: those the plan calibrates, and every float tensor for a TensorRT cache.
  const observed = new Set(Object.entries(plan.activations).filter(([, e]) => e.method).map(([n]) => n));
  const floatTensors = [...types].filter(([n, t]) => t.dtype === DT.FLOAT && !graph.constant(n)).map(([n]) => n);
  if (options.tensorrtCache) for (const n of floatTensors) observed.add(n);
  const methods = new Set<RangeMethodName>(Object.values(plan.activations).flatMap((e) => (e.method ? [e.method] : [])));
  if (options.tensorrtCache) methods.add(options.method ?? 'minmax');
  const needs = { histogram: false, movingAverage: false, sample: false };
  for (const m of methods) Object.assign(needs, Object.fromEntries(Object.entries(RANGE_METHODS[m].needs).filter(([, v]) => v)));

  const calibrateStart = performance.now();
  const stats = await collectStats(model, [...observed], source, selection.calibration, {
    needs,
    runner,
    batchSize: options.batchSize,
    batchable: batchable(model),
    seed: options.seed,
    onProgress: options.onProgress,
  });
  const calibrateMs = performance.now() - calibrateStart;

  const methodOptions = options.percentile !== undefined ? { percentile: options.percentile } : {};
  const ranges = activationRanges(plan, stats, methodOptions);
  const activations = activationParams(plan, ranges);
  const weights = weightParams(plan, (n) => graph.constant(n));
  let tensorrtAmax: Map<string, number> | undefined;
  if (options.tensorrtCache) {
    const method = RANGE_METHODS[options.method ?? 'minmax'];
    tensorrtAmax = new Map();
    for (const n of floatTensors) {
      const s = stats.get(n);
      if (!s) continue;
      const r: Range = method.range(s, { dtype: 'int8', symmetric: true }, methodOptions);
      tensorrtAmax.set(n, Math.max(Math.abs(r.min), Math.abs(r.max)));
    }
  }

  const exported = exportQdq(model, plan, { activations, weights });
  model.producerName = 'onnxq';
  model.producerVersion = VERSION;
  setMetadata(model, 'onnxq.version', VERSION);
  setMetadata(model, 'onnxq.options', JSON.stringify(options.recordOptions ?? recordable(options)));

  let validation: ValidationReport | undefined;
  if (options.validate !== false) {
    validation = await compareModels(input, toBinary(ModelProtoSchema, model), source, selection.heldOut, {
      runner,
      classOutputs: classOutputs(input),
    });
  }
  return {
    model,
    plan,
    ranges: rangesTable(plan, ranges, activations, weights),
    ...(tensorrtAmax ? { tensorrtAmax } : {}),
    prepare,
    export: exported,
    ...(validation ? { validation } : {}),
    warnings,
    samples: { calibration: selection.calibration.length, heldOut: selection.heldOut.length, shared: selection.shared },
    timings: { calibrateMs, totalMs: performance.now() - start },
  };
}

/** True when every input's first dimension is free, so that samples can be stacked into one run. */
function batchable(model: ModelProto): boolean {
  const inputs = new Graph(model.graph!).inputs;
  return inputs.every((v) => {
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
    if (p && (p.opType === 'Softmax' || p.opType === 'LogSoftmax' || (rank === 2 && (p.opType === 'Gemm' || p.opType === 'MatMul' || p.opType === 'Add'))))
      out.add(o.name);
  }
  return out;
}

function recordable(options: QuantizeOptions): Record<string, unknown> {
  const { plan: _plan, onProgress: _p, recordOptions: _r, ...rest } = options;
  return rest;
}
