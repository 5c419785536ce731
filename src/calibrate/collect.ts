/**
 * The calibration loop: passes of the chosen samples through the float model, folding every watched
 * tensor into its observers one batch at a time (a batch's tensors are dropped before the next).
 *
 * Min and max are reduced inside the graph (probes.ts), so only two small tensors cross into
 * JavaScript per run, and they are exact. Histograms (and ADMM's
 * sample) need values: copying whole activations out of onnxruntime and walking them in JavaScript
 * costs several times the inference itself, so they see a strided subsample taken inside the graph —
 * at most `valuesPerSample` values of each tensor per sample, every k-th element from an offset that
 * turns with each batch, so that over the calibration set every position is visited (tensors that small
 * are seen whole). Histograms grow with the data at a fixed bin width (histogram.ts), as NVIDIA's
 * pytorch-quantization does, so one pass is enough — except for entropy, whose KL search is defined on
 * 2048 bins over exactly [0, max |x|] of the whole set: it takes a second pass once that range is known.
 */
import type { ModelProto } from 'onnx-buf';
import { fail } from '../errors.js';
import type { CalibrationSource, Sample } from '../data/source.js';
import { Runner, type Augmentation, type RunnerOptions } from '../runtime/runner.js';
import { Probes, type Fetched } from './probes.js';
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

/**
 * Graph optimization of the calibration sessions: onnxruntime's full level ('all') where it pays, else
 * none. At 'all', every watched tensor is still computed with its own values: each is read by a probe
 * node whose output is fetched, and onnxruntime never removes a value a remaining node reads — that
 * extra reader is what blocks the fusions that would (a Conv whose output is watched is not merged with
 * the Relu after it). What changes is the kernel that computes a value (fused activations, the NCHWc
 * convolutions), i.e. float rounding: on PaddleOCR det and rec every min, max and subsampled value stayed
 * within 5e-5 of the tensor's max |x| of what 'disabled' computes, and calibration ran 1.3–1.5× faster
 * (the NCHWc convolutions). It pays for convolution nets; setting it up costs onnxruntime time that grows
 * faster than the graph (a 2,900-node encoder with its probes: 9 s at 'all', 1 s at 'disabled'; 5,800
 * nodes: 43 s against 3.6 s) and buys a transformer nothing: so 'all' for graphs with convolutions of at
 * most ALL_UP_TO nodes, 'disabled' for the rest.
 */
function optimizationFor(model: ModelProto): 'all' | 'disabled' {
  const nodes = model.graph!.node;
  return nodes.length <= ALL_UP_TO && nodes.some((n) => n.opType === 'Conv') ? 'all' : 'disabled';
}
const ALL_UP_TO = 1500;

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
  const valuesFirst = !!(samples || growing);
  // One session serves both passes: the second only fetches other probes' outputs.
  const session = await ProbeSession.open(
    model,
    new Probes(model, options.add ?? {}, tensors, options.sizes ?? new Map(), options.valuesPerSample ?? DEFAULT_VALUES_PER_SAMPLE),
    valuesFirst || !!needs.fixedHistogram,
    options,
  );
  try {
    await pass(session, source, batches, true, valuesFirst, options, 'calibrating', (out, p) => {
      for (const [i, t] of tensors.entries()) {
        const { min, max } = p.range(i, out);
        const pair = Float32Array.of(min, max);
        minmax.get(t)!.observe(pair);
        moving?.get(t)!.observe(pair);
        if (!valuesFirst) continue;
        const v = p.values(i, out);
        samples?.get(t)!.observe(v);
        const h = growing?.get(t);
        if (h) {
          // The exact batch range, not the subsample's, decides how far the histogram must reach.
          h.cover(Math.max(Math.abs(min), Math.abs(max)));
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
    for (const t of tensors) {
      const { min, max } = stats.get(t)!;
      if (!Number.isFinite(min) || !Number.isFinite(max))
        fail(
          'BAD_CALIBRATION',
          `tensor '${t}' reached ${min}…${max} on the calibration data: the float model overflows there, and infinite values cannot be quantized. ` +
            'Check the data\'s normalisation (--scale, --mean, --std), or keep that node float with --exclude.',
        );
    }
    const fixed = new Map(tensors.map((t) => [t, HistogramObserver.forRange(stats.get(t)!.min, stats.get(t)!.max)]));
    await pass(session, source, batches, false, true, options, 'histograms', (out, p) => {
      for (const [i, t] of tensors.entries()) fixed.get(t)!.observe(p.values(i, out));
    });
    for (const t of tensors) stats.get(t)!.histogram = fixed.get(t)!;
    return stats;
  } finally {
    await session.release();
  }
}

/**
 * The calibration session: the model with its probes (min and max of every watched tensor, and their
 * subsamples when a pass needs values). Should a run fail with tensors stacked together (a size that
 * changed between samples breaks their Concat), it reopens with one tensor per stack and runs again.
 */
class ProbeSession {
  private constructor(
    public probes: Probes,
    private runner: Runner,
    private readonly reopen: (p: Probes) => Promise<Runner>,
    /** Whether the session's model takes the subsample offset (it fetches values in some pass). */
    private readonly withValues: boolean,
  ) {}

  static async open(model: ModelProto, probes: Probes, values: boolean, options: CollectOptions): Promise<ProbeSession> {
    const optimization = options.runner?.optimization ?? optimizationFor(model);
    const open = (p: Probes) => Runner.create(model, { ...options.runner, optimization, label: 'the float model (calibration)', add: p.augmentation(true, values) });
    return new ProbeSession(probes, await open(probes), open, values);
  }

  async run(feeds: Sample, batch: number, reductions: boolean, values: boolean): Promise<Fetched> {
    try {
      return await this.runner.run(this.probes.feeds(feeds, batch, this.withValues), this.probes.fetches(reductions, values));
    } catch (e) {
      if (!this.probes.stacked) throw e;
      await this.runner.release();
      this.probes = this.probes.unstacked();
      this.runner = await this.reopen(this.probes);
      return this.runner.run(this.probes.feeds(feeds, batch, this.withValues), this.probes.fetches(reductions, values));
    }
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}

/** One run over every batch, fetching the min/max (`reductions`) and/or the subsampled values. */
async function pass(
  session: ProbeSession,
  source: CalibrationSource,
  batches: number[][],
  reductions: boolean,
  values: boolean,
  options: CollectOptions,
  phase: CalibrationPhase,
  fold: (out: Fetched, probes: Probes) => void,
): Promise<void> {
  let done = 0;
  const total = batches.reduce((n, b) => n + b.length, 0);
  for (const [b, batch] of batches.entries()) {
    const out = await session.run(await loadBatch(source, batch), b, reductions, values);
    fold(out, session.probes);
    done += batch.length;
    options.onProgress?.(phase, done, total);
  }
}

function makeBatches(indices: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < indices.length; i += size) out.push(indices.slice(i, i + size));
  return out;
}
