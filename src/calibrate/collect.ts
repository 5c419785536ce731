/**
 * The calibration loop: runs the chosen samples through the float model and folds every watched
 * tensor into its observers, one batch at a time (a batch's tensors are dropped before the next).
 * Pass 1 reduces inside the graph — a ReduceMin and a ReduceMax per tensor, so only two numbers per
 * tensor cross into JavaScript — and fetches whole tensors only when a bounded sample is needed (ADMM).
 * Pass 2, for histogram methods, fetches the tensors and bins them on the range pass 1 found.
 */
import type { ModelProto } from 'onnx-buf';
import type { CalibrationSource, Sample } from '../data/source.js';
import { makeNode } from '../ir/node.js';
import { Runner, concatSamples, encodeWithOutputs, type RunnerOptions } from '../runtime/runner.js';
import { HistogramObserver } from './histogram.js';
import { MinMaxObserver } from './minmax.js';
import { MovingAverageObserver } from './moving-average.js';
import type { TensorStats } from './observer.js';
import { SampleObserver } from './sample.js';

export interface CollectNeeds {
  histogram?: boolean;
  movingAverage?: boolean;
  sample?: boolean;
}

export interface CollectOptions {
  needs: CollectNeeds;
  runner?: RunnerOptions;
  /** Samples per run where the model's batch dimension is free (default 1). */
  batchSize?: number;
  /** Whether the model accepts several samples per run (its inputs' first dimension is free). */
  batchable?: boolean;
  seed?: number;
  onProgress?: (phase: 'ranges' | 'histograms', done: number, total: number) => void;
}

const MIN_SUFFIX = '__onnxq_min';
const MAX_SUFFIX = '__onnxq_max';

export async function collectStats(
  model: ModelProto,
  tensors: readonly string[],
  source: CalibrationSource,
  indices: readonly number[],
  options: CollectOptions,
): Promise<Map<string, TensorStats>> {
  const minmax = new Map(tensors.map((t) => [t, new MinMaxObserver()]));
  const moving = options.needs.movingAverage ? new Map(tensors.map((t) => [t, new MovingAverageObserver()])) : undefined;
  const samples = options.needs.sample ? new Map(tensors.map((t, i) => [t, new SampleObserver(undefined, (options.seed ?? 0) + i)])) : undefined;
  const batches = makeBatches(indices, options.batchable ? Math.max(1, options.batchSize ?? 1) : 1);

  // Graph inputs are read from the feeds; everything else is fetched from onnxruntime.
  const inputs = new Set(model.graph!.input.map((v) => v.name));
  const fetched = tensors.filter((t) => !inputs.has(t));
  const valuesOf = (t: string, feeds: Sample, out: Record<string, { data: unknown }>) => (inputs.has(t) ? feeds[t]! : out[t]!).data as Float32Array;

  // Pass 1: per-batch min and max from in-graph reductions.
  const reduced = withReductions(model, tensors, samples ? fetched : []);
  const pass1 = await Runner.create(reduced, { ...options.runner, optimization: 'disabled', label: 'the float model (calibration)' });
  try {
    const fetch = tensors.flatMap((t) => [t + MIN_SUFFIX, t + MAX_SUFFIX]);
    let done = 0;
    for (const batch of batches) {
      const feeds = await loadBatch(source, batch);
      const out = await pass1.run(feeds, samples ? [...fetch, ...fetched] : fetch);
      for (const t of tensors) {
        const pair = Float32Array.of(Number(out[t + MIN_SUFFIX]!.data[0]), Number(out[t + MAX_SUFFIX]!.data[0]));
        minmax.get(t)!.observe(pair);
        moving?.get(t)!.observe(pair);
        if (samples) samples.get(t)!.observe(valuesOf(t, feeds, out));
      }
      done += batch.length;
      options.onProgress?.('ranges', done, indices.length);
    }
  } finally {
    await pass1.release();
  }

  const stats = new Map<string, TensorStats>();
  for (const t of tensors) {
    const m = minmax.get(t)!.range();
    stats.set(t, {
      min: m.min,
      max: m.max,
      ...(moving ? { movingAverage: moving.get(t)!.range() ?? m } : {}),
      ...(samples ? { sample: samples.get(t)!.values() } : {}),
    });
  }
  if (!options.needs.histogram) return stats;

  // Pass 2: histograms on the fixed range of pass 1, so that bin edges never move.
  const histograms = new Map(tensors.map((t) => [t, HistogramObserver.forRange(stats.get(t)!.min, stats.get(t)!.max)]));
  const pass2 = await Runner.create(model, { ...options.runner, optimization: 'disabled', extraOutputs: fetched, label: 'the float model (calibration)' });
  try {
    let done = 0;
    for (const batch of batches) {
      const feeds = await loadBatch(source, batch);
      const out = await pass2.run(feeds, fetched);
      for (const t of tensors) histograms.get(t)!.observe(valuesOf(t, feeds, out));
      done += batch.length;
      options.onProgress?.('histograms', done, indices.length);
    }
  } finally {
    await pass2.release();
  }
  for (const t of tensors) stats.get(t)!.histogram = histograms.get(t)!;
  return stats;
}

function makeBatches(indices: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < indices.length; i += size) out.push(indices.slice(i, i + size));
  return out;
}

export async function loadBatch(source: CalibrationSource, batch: readonly number[]): Promise<Sample> {
  const samples: Sample[] = [];
  for (const i of batch) samples.push(await source.load(i));
  return concatSamples(samples);
}

/** The model's bytes with a ReduceMin and a ReduceMax (all axes, keepdims 0) per tensor, and `extra`, as outputs. */
function withReductions(model: ModelProto, tensors: readonly string[], extra: readonly string[]): Uint8Array {
  const graph = model.graph!;
  const original = graph.node;
  const reductions = tensors.flatMap((t) => [
    makeNode({ opType: 'ReduceMin', inputs: [t], outputs: [t + MIN_SUFFIX], attrs: { keepdims: 0 } }),
    makeNode({ opType: 'ReduceMax', inputs: [t], outputs: [t + MAX_SUFFIX], attrs: { keepdims: 0 } }),
  ]);
  graph.node = [...original, ...reductions];
  try {
    return encodeWithOutputs(model, [...tensors.flatMap((t) => [t + MIN_SUFFIX, t + MAX_SUFFIX]), ...extra]);
  } finally {
    graph.node = original;
  }
}
