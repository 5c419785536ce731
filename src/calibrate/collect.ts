/**
 * The calibration loop: passes of the chosen samples through the float model, folding every watched
 * tensor into its observers one batch at a time (a batch's tensors are dropped before the next).
 *
 * Min and max are reduced inside the graph — a ReduceMin and a ReduceMax per tensor, concatenated — so
 * only two small tensors cross into JavaScript per run, and they are exact. Histograms (and ADMM's
 * sample) need values: copying whole activations out of onnxruntime and walking them in JavaScript
 * costs several times the inference itself, so they see a strided subsample taken inside the graph —
 * at most `valuesPerSample` values of each tensor per sample, every k-th element from an offset that
 * turns with each batch, so that over the calibration set every position is visited (tensors that small
 * are seen whole). Histograms grow with the data at a fixed bin width (histogram.ts), as NVIDIA's
 * pytorch-quantization does, so one pass is enough — except for entropy, whose KL search is defined on
 * 2048 bins over exactly [0, max |x|] of the whole set: it takes a second pass once that range is known.
 */
import type { ModelProto, TensorProto } from 'onnx-buf';
import type { CalibrationSource, Sample } from '../data/source.js';
import { DT } from '../onnx/dtype.js';
import { int64Tensor } from '../onnx/tensor.js';
import { makeNode } from '../ir/node.js';
import { makeValueInfo } from '../ir/types.js';
import { Runner, encodeAugmented, type Augmentation, type RunnerOptions } from '../runtime/runner.js';
import { loadBatch } from '../data/batch.js';
import { HistogramObserver } from './histogram.js';
import { MinMaxObserver } from './minmax.js';
import { MovingAverageObserver } from './moving-average.js';
import type { TensorStats } from './observer.js';
import { SampleObserver } from './sample.js';

export interface CollectNeeds {
  histogram?: boolean;
  /** Histograms over exactly ±max |x| of the whole set (a second pass), as entropy needs. */
  fixedHistogram?: boolean;
  movingAverage?: boolean;
  sample?: boolean;
}

export interface CollectOptions {
  needs: CollectNeeds;
  /** Nodes and weights to run beside the model's own (tensors to observe that the model does not compute). */
  add?: Augmentation;
  runner?: RunnerOptions;
  /** Samples per run where the model's batch dimension is free (default 1). */
  batchSize?: number;
  /** Whether the model accepts several samples per run (its inputs' first dimension is free). */
  batchable?: boolean;
  seed?: number;
  /** Elements of each tensor for one sample, to choose its stride; tensors not listed are seen whole. */
  sizes?: ReadonlyMap<string, number>;
  /** Values of each tensor per sample that histograms and samples see (default 4096; 0 = all). */
  valuesPerSample?: number;
  onProgress?: (phase: CalibrationPhase, done: number, total: number) => void;
}

export const DEFAULT_VALUES_PER_SAMPLE = 4096;

/** 'calibrating': the pass every calibration makes; 'histograms': the second pass entropy needs. */
export type CalibrationPhase = 'calibrating' | 'histograms';

const MIN_SUFFIX = '__onnxq_min';
const MAX_SUFFIX = '__onnxq_max';
/** Every tensor's min (max) gathered into one output: one tensor crosses into JavaScript, not one per watched tensor. */
const MINS = 'onnxq_mins';
const MAXS = 'onnxq_maxs';
const SUB_SUFFIX = '__onnxq_sub';
const OFFSET = 'onnxq_offset';

export async function collectStats(
  model: ModelProto,
  tensors: readonly string[],
  source: CalibrationSource,
  indices: readonly number[],
  options: CollectOptions,
): Promise<Map<string, TensorStats>> {
  const needs = options.needs;
  const minmax = new Map(tensors.map((t) => [t, new MinMaxObserver()]));
  const moving = needs.movingAverage ? new Map(tensors.map((t) => [t, new MovingAverageObserver()])) : undefined;
  const samples = needs.sample ? new Map(tensors.map((t, i) => [t, new SampleObserver(undefined, (options.seed ?? 0) + i)])) : undefined;
  // Histograms grow with the data in the one pass, unless a method needs them over the exact range.
  const growing = needs.histogram && !needs.fixedHistogram ? new Map(tensors.map((t) => [t, HistogramObserver.growing()])) : undefined;
  const batches = makeBatches(indices, options.batchable ? Math.max(1, options.batchSize ?? 1) : 1);
  const probes = new Probes(model, options.add ?? {}, tensors, options.sizes ?? new Map(), options.valuesPerSample ?? DEFAULT_VALUES_PER_SAMPLE);

  await pass(source, batches, probes, true, !!(samples || growing), options, 'calibrating', (feeds, out, b) => {
    const mins = out[MINS]!.data as Float32Array;
    const maxs = out[MAXS]!.data as Float32Array;
    for (const [i, t] of tensors.entries()) {
      const pair = Float32Array.of(mins[i]!, maxs[i]!);
      minmax.get(t)!.observe(pair);
      moving?.get(t)!.observe(pair);
      if (!samples && !growing) continue;
      const v = probes.values(t, feeds, out, b);
      samples?.get(t)!.observe(v);
      const h = growing?.get(t);
      if (h) {
        // The exact batch range, not the subsample's, decides how far the histogram must reach.
        h.cover(Math.max(Math.abs(mins[i]!), Math.abs(maxs[i]!)));
        h.observe(v);
      }
    }
  });

  const stats = new Map<string, TensorStats>();
  for (const t of tensors) {
    const m = minmax.get(t)!.range();
    stats.set(t, {
      min: m.min,
      max: m.max,
      ...(moving ? { movingAverage: moving.get(t)!.range() ?? m } : {}),
      ...(samples ? { sample: samples.get(t)!.values() } : {}),
      ...(growing ? { histogram: growing.get(t)! } : {}),
    });
  }
  if (!needs.fixedHistogram) return stats;

  // A second pass: histograms over exactly ±max |x| of the whole set, TensorRT's bins.
  const fixed = new Map(tensors.map((t) => [t, HistogramObserver.forRange(stats.get(t)!.min, stats.get(t)!.max)]));
  await pass(source, batches, probes, false, true, options, 'histograms', (feeds, out, b) => {
    for (const t of tensors) fixed.get(t)!.observe(probes.values(t, feeds, out, b));
  });
  for (const t of tensors) stats.get(t)!.histogram = fixed.get(t)!;
  return stats;
}

type Fetched = Record<string, { data: unknown }>;

/** One run over every batch with a session that has the probes asked for. */
async function pass(
  source: CalibrationSource,
  batches: number[][],
  probes: Probes,
  reductions: boolean,
  values: boolean,
  options: CollectOptions,
  phase: CalibrationPhase,
  fold: (feeds: Sample, out: Fetched, batch: number) => void,
): Promise<void> {
  const runner = await Runner.create(probes.encode(reductions, values), { ...options.runner, optimization: 'disabled', label: 'the float model (calibration)' });
  try {
    let done = 0;
    const total = batches.reduce((n, b) => n + b.length, 0);
    for (const [b, batch] of batches.entries()) {
      const feeds = await loadBatch(source, batch);
      fold(feeds, await runner.run(probes.feeds(feeds, b), probes.fetches(reductions, values)), b);
      done += batch.length;
      options.onProgress?.(phase, done, total);
    }
  } finally {
    await runner.release();
  }
}

/**
 * The nodes a calibration session adds to the model: ReduceMin/ReduceMax per tensor, and per tensor
 * Reshape(−1) → Slice(start = offset mod k, step = k) for its strided subsample.
 */
class Probes {
  private readonly inputs: Set<string>;
  /** Stride per tensor (1: seen whole). */
  private readonly stride: Map<string, number>;

  constructor(
    private readonly model: ModelProto,
    private readonly base: Augmentation,
    private readonly tensors: readonly string[],
    sizes: ReadonlyMap<string, number>,
    budget: number,
  ) {
    this.inputs = new Set(model.graph!.input.map((v) => v.name));
    this.stride = new Map(tensors.map((t) => [t, budget > 0 ? Math.max(1, Math.ceil((sizes.get(t) ?? 0) / budget)) : 1]));
  }

  private get subsampled(): string[] {
    return this.tensors.filter((t) => !this.inputs.has(t));
  }

  private get strided(): boolean {
    return this.subsampled.some((t) => this.stride.get(t)! > 1);
  }

  encode(reductions: boolean, values: boolean): Uint8Array {
    const add: Required<Augmentation> = { nodes: [...(this.base.nodes ?? [])], initializers: [...(this.base.initializers ?? [])], inputs: [], outputs: [] };
    if (reductions) {
      add.initializers.push(int64Tensor('onnxq_one', [1], [1]));
      for (const t of this.tensors)
        for (const [op, suffix] of [['ReduceMin', MIN_SUFFIX], ['ReduceMax', MAX_SUFFIX]] as const)
          add.nodes.push(
            makeNode({ opType: op, inputs: [t], outputs: [t + suffix + '_kept'], attrs: { keepdims: 1 } }),
            makeNode({ opType: 'Reshape', inputs: [t + suffix + '_kept', 'onnxq_one'], outputs: [t + suffix] }),
          );
      add.nodes.push(
        makeNode({ opType: 'Concat', inputs: this.tensors.map((t) => t + MIN_SUFFIX), outputs: [MINS], attrs: { axis: 0 } }),
        makeNode({ opType: 'Concat', inputs: this.tensors.map((t) => t + MAX_SUFFIX), outputs: [MAXS], attrs: { axis: 0 } }),
      );
      add.outputs.push(MINS, MAXS);
    }
    if (values) {
      if (this.strided) {
        add.inputs.push(makeValueInfo(OFFSET, { dtype: DT.INT64, shape: [1] }));
        add.initializers.push(int64Tensor('onnxq_flat', [1], [-1]), int64Tensor('onnxq_axis0', [1], [0]), endTensor());
      }
      const steps = new Set<number>();
      for (const t of this.subsampled) {
        const k = this.stride.get(t)!;
        if (k === 1) {
          add.outputs.push(t);
          continue;
        }
        if (!steps.has(k)) {
          steps.add(k);
          add.initializers.push(int64Tensor(`onnxq_step_${k}`, [1], [k]));
          add.nodes.push(makeNode({ opType: 'Mod', inputs: [OFFSET, `onnxq_step_${k}`], outputs: [`onnxq_start_${k}`] }));
        }
        add.nodes.push(
          makeNode({ opType: 'Reshape', inputs: [t, 'onnxq_flat'], outputs: [t + '__onnxq_flat'] }),
          makeNode({ opType: 'Slice', inputs: [t + '__onnxq_flat', `onnxq_start_${k}`, 'onnxq_end', 'onnxq_axis0', `onnxq_step_${k}`], outputs: [t + SUB_SUFFIX] }),
        );
        add.outputs.push(t + SUB_SUFFIX);
      }
    }
    return encodeAugmented(this.model, add);
  }

  fetches(reductions: boolean, values: boolean): string[] {
    const out: string[] = reductions ? [MINS, MAXS] : [];
    if (values) for (const t of this.subsampled) out.push(this.stride.get(t)! > 1 ? t + SUB_SUFFIX : t);
    return out;
  }

  feeds(feeds: Sample, batch: number): Sample {
    return this.strided ? { ...feeds, [OFFSET]: { dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(batch)) } } : feeds;
  }

  /** The values the observers see for tensor t: its subsample, or all of it. */
  values(t: string, feeds: Sample, out: Record<string, { data: unknown }>, batch: number): Float32Array {
    if (this.inputs.has(t)) {
      const all = feeds[t]!.data as Float32Array;
      const k = this.stride.get(t)!;
      if (k === 1) return all;
      const start = batch % k;
      const sub = new Float32Array(Math.ceil((all.length - start) / k));
      for (let i = start, j = 0; i < all.length; i += k, j++) sub[j] = all[i]!;
      return sub;
    }
    return out[this.stride.get(t)! > 1 ? t + SUB_SUFFIX : t]!.data as Float32Array;
  }
}

function endTensor(): TensorProto {
  const t = int64Tensor('onnxq_end', [1], [0]);
  new DataView(t.rawData.buffer, t.rawData.byteOffset).setBigInt64(0, 2n ** 63n - 1n, true);
  return t;
}

function makeBatches(indices: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < indices.length; i += size) out.push(indices.slice(i, i + size));
  return out;
}
