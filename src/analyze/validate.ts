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
}

export interface ValidationReport {
  samples: number;
  outputs: OutputComparison[];
  /** Median milliseconds per sample, full graph optimization, after warm-up runs; the two models alternate. */
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

export async function compareModels(
  floatModel: ModelProto | Uint8Array | string,
  quantizedModel: ModelProto | Uint8Array,
  source: CalibrationSource,
  indices: readonly number[],
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const float = await Runner.create(floatModel, { ...options.runner, optimization: 'all', label: 'the float model' });
  let quant: Runner;
  try {
    quant = await Runner.create(quantizedModel, { ...options.runner, optimization: 'all', label: 'the quantized model' });
  } catch (e) {
    await float.release();
    throw e;
  }
  try {
    const acc = new Map<string, ErrorAccumulator>();
    const top1 = new Map<string, { matches: number; rows: number }>();
    const floatMs: number[] = [];
    const quantMs: number[] = [];
    const [floatTypes, quantTypes] = [float.inputTypes, quant.inputTypes];
    for (const [k, index] of indices.entries()) {
      const sample = await loadBatch(source, [index]);
      const feeds = castSample(sample, floatTypes);
      const quantFeeds = castSample(sample, quantTypes);
      if (k === 0)
        for (let i = 0; i < WARM_UP; i++) {
          await float.run(feeds);
          await quant.run(quantFeeds);
        }
      let t = performance.now();
      const ref = await float.run(feeds);
      floatMs.push(performance.now() - t);
      t = performance.now();
      const out = await quant.run(quantFeeds);
      quantMs.push(performance.now() - t);
      for (const name of float.outputNames) {
        const r = asFloat32(ref[name]!);
        const q = out[name] && asFloat32(out[name]);
        if (!r || !q) continue;
        let a = acc.get(name);
        if (!a) acc.set(name, (a = new ErrorAccumulator()));
        a.add(r, q);
        const dims = ref[name]!.dims;
        const classes = dims[dims.length - 1]!;
        if (options.classOutputs?.has(name) && classes > 1) {
          const m = top1Matches(r, q, classes);
          const prev = top1.get(name) ?? { matches: 0, rows: 0 };
          top1.set(name, { matches: prev.matches + m.matches, rows: prev.rows + m.rows });
        }
      }
    }
    const outputs: OutputComparison[] = [...acc].map(([name, a]) => {
      const t = top1.get(name);
      return { name, sqnr: a.sqnr, cosine: a.cosine, maxAbsError: a.maxAbsError, ...(t ? { top1: t.matches / t.rows, rows: t.rows } : {}) };
    });
    return { samples: indices.length, outputs, floatMs: median(floatMs), quantizedMs: median(quantMs) };
  } finally {
    await float.release();
    await quant.release();
  }
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
