/**
 * Validation: runs held-out samples through the float and the quantized model in onnxruntime and
 * compares every output (SQNR, cosine, top-1 agreement for class scores), with the time each took.
 */
import type { ModelProto } from 'onnx-buf';
import { typeOf } from '../ir/types.js';
import type { CalibrationSource, HostTensor, Sample } from '../data/source.js';
import { floatToHalf, halfToFloat } from '../onnx/dtype.js';
import { loadBatch } from '../data/batch.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import { ErrorAccumulator, top1Matches } from './metrics.js';

export interface OutputComparison {
  name: string;
  sqnr: number;
  cosine: number;
  maxAbsError: number;
  /** Share of rows (argmax over the last axis) that agree, for outputs that look like class scores. */
  top1?: number;
  rows?: number;
  /**
   * Values that are NaN or ±Infinity in the float and the quantized output, where there are any: the
   * metrics are then not numbers to report (and top-1 is not computed).
   */
  nonFinite?: { float: number; quantized: number };
}

export interface ValidationReport {
  samples: number;
  outputs: OutputComparison[];
  /** Median milliseconds per sample, full graph optimization, after warm-up runs; each model in turn, never both loaded. */
  floatMs: number;
  quantizedMs: number;
}

export interface ValidateOptions {
  runner?: RunnerOptions;
  /** Outputs that hold class scores on their last axis (softmax outputs, classifier logits). */
  classOutputs?: ReadonlySet<string>;
}

const WARM_UP = 3;

/**
 * The sample as a model with these input types takes it: a float16 model (fp16 mode without
 * --keep-io-types) gets the same values in float16, so both models see the same inputs.
 */
function castSample(sample: Sample, types: ReadonlyMap<string, string>): Sample {
  const out: Sample = {};
  for (const [name, t] of Object.entries(sample)) {
    const want = types.get(name);
    if (want === 'float16' && t.dtype === 'float32') out[name] = { dtype: want, dims: t.dims, data: Uint16Array.from(t.data as Float32Array, floatToHalf) };
    else if (want === 'float32' && t.dtype === 'float16') out[name] = { dtype: want, dims: t.dims, data: asFloat32(t)! };
    else out[name] = t;
  }
  return out;
}

/** A float output's values as float32 (float16 widened exactly); undefined for other types. */
function asFloat32(t: HostTensor): Float32Array | undefined {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype !== 'float16') return undefined;
  // onnxruntime hands float16 over as raw bits (Uint16Array) where the JS engine has no Float16Array.
  return t.data instanceof Uint16Array ? Float32Array.from(t.data, halfToFloat) : Float32Array.from(t.data as ArrayLike<number>);
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[v.length >> 1]! : 0;
}

/**
 * The float model runs first over every sample (its outputs kept, its session released), then the
 * quantized one: the two are never loaded together, so a large model's weights are not held twice.
 * Latency is each model's median per sample after warm-up runs.
 */
export async function compareModels(
  floatModel: ModelProto | Uint8Array | string,
  quantizedModel: ModelProto | Uint8Array | string,
  source: CalibrationSource,
  indices: readonly number[],
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const reference = await ReferenceOutputs.of(floatModel, source, indices, options);
  return reference.compare(quantizedModel);
}

/**
 * The float model's outputs on some samples, kept to compare any number of quantized models with
 * (a mixed-precision search compares many) without running the float model again.
 */
export class ReferenceOutputs {
  private constructor(
    private readonly outputs: Map<string, { data: Float32Array; dims: number[] }>[],
    private readonly names: readonly string[],
    readonly floatMs: number,
    private readonly source: CalibrationSource,
    private readonly indices: readonly number[],
    private readonly options: ValidateOptions,
  ) {}

  static async of(floatModel: ModelProto | Uint8Array | string, source: CalibrationSource, indices: readonly number[], options: ValidateOptions = {}): Promise<ReferenceOutputs> {
    const outputs: Map<string, { data: Float32Array; dims: number[] }>[] = [];
    const ms: number[] = [];
    let names: readonly string[] = [];
    await eachSample(floatModel, 'the float model', source, indices, options, (run, t) => {
      const kept = new Map<string, { data: Float32Array; dims: number[] }>();
      for (const [name, tensor] of Object.entries(run)) {
        const data = asFloat32(tensor);
        if (data) kept.set(name, { data: data === tensor.data ? Float32Array.from(data) : data, dims: tensor.dims });
      }
      outputs.push(kept);
      ms.push(t);
    }, (n) => (names = n));
    return new ReferenceOutputs(outputs, names, median(ms), source, indices, options);
  }

  /** Runs a quantized model over the same samples and compares every output with the float model's. */
  async compare(quantizedModel: ModelProto | Uint8Array | string, label = 'the quantized model'): Promise<ValidationReport> {
    const acc = new Map<string, ErrorAccumulator>();
    const top1 = new Map<string, { matches: number; rows: number }>();
    const nonFinite = new Map<string, { float: number; quantized: number }>();
    const quantMs: number[] = [];
    await eachSample(quantizedModel, label, this.source, this.indices, this.options, (run, ms, k) => {
      quantMs.push(ms);
      for (const name of this.names) {
        const ref = this.outputs[k]!.get(name);
        const q = run[name] && asFloat32(run[name]);
        if (!ref || !q) continue;
        let a = acc.get(name);
        if (!a) acc.set(name, (a = new ErrorAccumulator()));
        a.add(ref.data, q);
        const bad = { float: countNonFinite(ref.data), quantized: countNonFinite(q) };
        if (bad.float || bad.quantized) {
          const prev = nonFinite.get(name) ?? { float: 0, quantized: 0 };
          nonFinite.set(name, { float: prev.float + bad.float, quantized: prev.quantized + bad.quantized });
        }
        const classes = ref.dims[ref.dims.length - 1]!;
        if (this.options.classOutputs?.has(name) && classes > 1) {
          const m = top1Matches(ref.data, q, classes);
          const prev = top1.get(name) ?? { matches: 0, rows: 0 };
          top1.set(name, { matches: prev.matches + m.matches, rows: prev.rows + m.rows });
        }
      }
    });
    const outputs: OutputComparison[] = [...acc].map(([name, a]) => {
      const t = top1.get(name);
      const bad = nonFinite.get(name);
      if (bad) return { name, sqnr: NaN, cosine: NaN, maxAbsError: NaN, nonFinite: bad };
      return { name, sqnr: a.sqnr, cosine: a.cosine, maxAbsError: a.maxAbsError, ...(t ? { top1: t.matches / t.rows, rows: t.rows } : {}) };
    });
    return { samples: this.indices.length, outputs, floatMs: this.floatMs, quantizedMs: median(quantMs) };
  }
}

function countNonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) n++;
  return n;
}

/** Runs one model over the samples (after warm-up runs on the first), handing each run's outputs and time to `take`. */
async function eachSample(
  model: ModelProto | Uint8Array | string,
  label: string,
  source: CalibrationSource,
  indices: readonly number[],
  options: ValidateOptions,
  take: (outputs: Record<string, HostTensor>, ms: number, k: number) => void,
  names?: (outputNames: readonly string[]) => void,
): Promise<void> {
  const runner = await Runner.create(model, { ...options.runner, optimization: 'all', label });
  try {
    names?.(runner.outputNames);
    const types = runner.inputTypes;
    for (const [k, index] of indices.entries()) {
      const feeds = castSample(await loadBatch(source, [index]), types);
      if (k === 0) for (let i = 0; i < WARM_UP; i++) await runner.run(feeds);
      const t = performance.now();
      const out = await runner.run(feeds);
      take(out, performance.now() - t, k);
    }
  } finally {
    await runner.release();
  }
}

/**
 * That onnxruntime loads the model: what every output must pass before it is written, even when the
 * comparison with the float model is skipped (`validate: false`).
 */
export async function checkLoads(model: ModelProto, runner: RunnerOptions = {}): Promise<void> {
  const r = await Runner.create(model, { ...runner, optimization: 'disabled', label: 'the quantized model' });
  await r.release();
}

/** Outputs that hold class scores on their last axis: produced by (Log)Softmax, or 2-D logits. */
export function classOutputs(model: ModelProto): Set<string> {
  const graph = model.graph!;
  const outputs = new Map(graph.output.map((o) => [o.name, o]));
  const out = new Set<string>();
  for (const n of graph.node)
    for (const name of n.output) {
      const o = outputs.get(name);
      if (!o) continue;
      const rank = typeOf(o)?.shape?.length;
      if (n.opType === 'Softmax' || n.opType === 'LogSoftmax' || (rank === 2 && ['Gemm', 'MatMul', 'Add'].includes(n.opType))) out.add(name);
    }
  return out;
}
