/**
 * AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization", ICML):
 * instead of rounding each weight to the nearest point of its grid, learn per weight whether it rounds
 * down or up, unit by unit in graph order (a layer, or with `reconstruct: 'block'` a block as BRECQ does,
 * Li et al. 2021, ICLR), on calibration data and without labels, by minimising
 *     C·mean (f(W̃, x̃) − f(W, x))² + λ·Σ 1 − |2h(V) − 1|^β,   W̃ = s·(⌊W/s⌋ + h(V))
 * where f is the unit, x its input in the float model and x̃ in the model quantized so far (earlier units
 * already rounded as learned), C the size of the output's axis 1 (so that the first term sums over
 * channels and averages over the rest, as AIMET and BRECQ weigh it against λ = 0.01), β annealed
 * 20 → 2 after a 20 % warm-up (rounding.ts). The first term's gradient comes from a training graph
 * run by onnxruntime (adaround-model.ts, train/graph.ts); the regulariser's is added in TypeScript.
 * At the end h is rounded to {0, 1}; the unit keeps round-to-nearest should that reconstruct its
 * calibration samples better. The prepared graph's weight then holds the grid values s·(⌊W/s⌋ + h),
 * which the exporter's round-to-nearest with the plan's unchanged scale turns into exactly the
 * learned integers, and the plan's entry says 'trained'.
 */
import type { ModelProto } from 'onnx-buf';
import { concatSamples } from '../data/batch.js';
import type { HostTensor, Sample } from '../data/source.js';
import { fail } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { DT } from '../onnx/dtype.js';
import { numel, readFloat32, setRawData } from '../onnx/tensor.js';
import type { QuantPlan } from '../plan/plan.js';
import { roundHalfEven } from '../quant/round.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import { measureShapes } from '../train/fake-quant.js';
import { buildTrainingGraph } from '../train/graph.js';
import { batchOrder, Trainer } from '../train/loop.js';
import { adam } from '../train/optimizers.js';
import type { Calibration } from '../quantize.js';
import { gridValues, unitModel, weightGrid, type WeightGrid } from './adaround-model.js';
import { collectTaps, spread } from './layer-data.js';
import { addRegularizerGradient, betaAt } from './rounding.js';
import { blockUnits, layerUnits, type Unit } from './units.js';

export type Reconstruct = 'layer' | 'block';

export interface AdaRoundOptions {
  /** Reconstruct each layer's output (default) or each block's (BRECQ). */
  reconstruct?: Reconstruct;
  /**
   * Adam steps per layer or block (default 200; the paper and AIMET take 10,000, BRECQ 20,000). Measured
   * on torch-trained Fashion-MNIST CNNs at 4-bit weights, 200 and 500 steps gave the same top-1 (ResNet-
   * style 91.87 / 91.86 %, MobileNetV2-style 89.63 / 89.69 %, round to nearest 90.67 / 88.53 %) in 2.5×
   * less time; 500 reconstruct each layer's output better (mean 23.4 → 25.1 dB on the ResNet).
   */
  iterations?: number;
  /** Calibration samples reconstructed on (default 256, at most the calibration's; fewer for a unit whose data would pass 256 MiB). */
  samples?: number;
  /** Samples per step (default 32, as AIMET). */
  batchSize?: number;
  /**
   * Adam's learning rate (default 0.03: AIMET's 0.001 for 10,000 steps moves V by up to ~10, enough to
   * cross from either end of its start; a few hundred steps need a larger one. Measured on the test CNN at 500
   * steps: 0.003 / 0.01 / 0.03 / 0.05 (250 steps) → 29.2 / 27.9 / 31.8 / 29.7 dB, round to nearest 23.5).
   */
  lr?: number;
  /** The regulariser's weight λ (default 0.01). */
  lambda?: number;
  seed?: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AdaRoundUnit {
  /** The unit's nodes that carry a learned weight, and all of its nodes' count. */
  layers: string[];
  nodes: number;
  samples: number;
  /** The unit output's SQNR (dB) against the float model's on its samples, rounded to nearest and as learned. */
  sqnrBefore: number;
  sqnrAfter: number;
  /** Share of the free weights rounded the other way than to nearest. */
  flipped: number;
  /** False when round to nearest reconstructed better and was kept. */
  learned: boolean;
  ms: number;
}

export interface AdaRoundReport {
  reconstruct: Reconstruct;
  iterations: number;
  samples: number;
  batchSize: number;
  units: AdaRoundUnit[];
  /** Blocks reconstructed layer by layer instead, and the node without a backward rule that made it so. */
  split: string[];
  totalMs: number;
}

export const ADAROUND_DEFAULTS = { iterations: 200, samples: 256, batchSize: 32, lr: 0.03, lambda: 0.01 } as const;
/** Bytes of one unit's inputs and float outputs kept for its training. */
const MAX_UNIT_BYTES = 256 * 2 ** 20;
/** |V| that makes h exactly 0 or 1 (σ(±20)·1.2 − 0.1 lies beyond the clip): rounding decisions fed as V. */
const HARD = 20;

/**
 * Learns the rounding of the weights of `graph` (the prepared model `model` being quantized, edited in
 * place) with `plan` resolved; the entries it learns get state 'trained'.
 */
export async function adaRound(cal: Calibration, model: ModelProto, graph: Graph, plan: QuantPlan, options: AdaRoundOptions = {}): Promise<AdaRoundReport> {
  const start = performance.now();
  const o = { ...ADAROUND_DEFAULTS, ...definedOnly(options) };
  for (const k of ['iterations', 'samples', 'batchSize'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 1) fail('BAD_OPTION', `AdaRound's ${k} must be a positive integer; got ${o[k]}.`);
  if (!(o.lr > 0) || !(o.lambda >= 0)) fail('BAD_OPTION', `AdaRound needs a learning rate > 0 and λ ≥ 0; got ${o.lr} and ${o.lambda}.`);
  const reconstruct = options.reconstruct ?? 'layer';
  const { units, split } = reconstruct === 'block' ? blockUnits(graph, plan) : { units: layerUnits(graph, plan), split: [] };
  const indices = spread(cal.selection.calibration, o.samples);
  const runner: RunnerOptions = options.threads ? { threads: options.threads } : {};
  // The float references come from the model before any weight is rounded: the session is made now.
  const floatRunner = await Runner.create(cal.model, { ...runner, label: 'the float model (AdaRound references)', add: { outputs: [...new Set(units.map((u) => u.output))] } });
  const report: AdaRoundUnit[] = [];
  try {
    for (const unit of units) {
      const t = performance.now();
      const perSample = 4 * (size(cal, unit.fetch) + size(cal, unit.output));
      const own = spread(indices, Math.max(1, Math.min(indices.length, Math.floor(MAX_UNIT_BYTES / Math.max(1, perSample)))));
      const data = await collectTaps(cal.source, model, plan, [unit], own, floatRunner, { ...runner, label: 'the quantized model (AdaRound inputs)' });
      const r = await reconstructUnit(graph, model, plan, unit, data.xs.get(unit.fetch)!, data.ys.get(unit.output)!, o, runner);
      report.push({ ...r, samples: own.length, ms: performance.now() - t });
      options.onProgress?.(report.length, units.length);
    }
  } finally {
    await floatRunner.release();
  }
  return {
    reconstruct,
    iterations: o.iterations,
    samples: indices.length,
    batchSize: o.batchSize,
    units: report,
    split: split.map((n) => n.name),
    totalMs: performance.now() - start,
  };
}

type Settings = { iterations: number; batchSize: number; lr: number; lambda: number; seed?: number };

async function reconstructUnit(
  graph: Graph,
  model: ModelProto,
  plan: QuantPlan,
  unit: Unit,
  xs: HostTensor[],
  ys: HostTensor[],
  o: Settings,
  runner: RunnerOptions,
): Promise<Omit<AdaRoundUnit, 'samples' | 'ms'>> {
  const grids = unit.weights.map((w) => weightGrid(graph, plan, w));
  const batchSize = Math.min(o.batchSize, xs.length);
  const { model: forward, v } = unitModel(graph, model, plan, unit, grids, xs[0]!.dims.length);
  const target = 'adaround_target';
  const batchOf = (idx: ArrayLike<number>): Sample =>
    concatSamples(Array.from(idx, (i) => ({ [unit.fetch]: xs[i]!, [target]: ys[i]! })));
  const first = batchOf(Array.from({ length: batchSize }, (_, i) => i));
  const shapes = await measureShapes(forward, { [unit.fetch]: first[unit.fetch]! });
  const training = buildTrainingGraph(forward, { trainable: [...v.values()], loss: 'mse', target, output: unit.output, shapes });
  // The loss is a mean over every element; AdaRound's sums over axis 1 (channels) and averages the rest.
  const channels = shapes.get(unit.output)?.[1] ?? 1;
  const byV = new Map(grids.map((g) => [v.get(g.name)!, g]));
  const params = new Map(grids.map((g) => [v.get(g.name)!, Float32Array.from(g.v0)]));
  const trainer = await Trainer.create(training, params, {
    optimizer: adam(),
    lr: o.lr,
    runner: { ...runner, label: `the AdaRound training graph of '${unit.nodes[0]!.name}'` },
    adjustGradients: (grads, current, step) => {
      const beta = betaAt(step, o.iterations);
      for (const [name, grad] of grads) {
        for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * channels;
        if (beta > 0) addRegularizerGradient(grad, current.get(name)!, beta, o.lambda, byV.get(name)!.free);
      }
    },
  });
  try {
    // Squared error over whole batches of the samples, for the rounding decisions `h` (per weight).
    const batches = Array.from({ length: Math.floor(xs.length / batchSize) }, (_, b) => batchOf(Array.from({ length: batchSize }, (_, i) => b * batchSize + i)));
    const signal = batches.reduce((a, b) => a + sumSquares(b[target]!.data as Float32Array), 0);
    const perBatch = numel(shapes.get(unit.output)!);
    const squaredError = async (h: Map<string, Uint8Array>) => {
      const hard = new Map(grids.map((g) => [v.get(g.name)!, Float32Array.from(h.get(g.name)!, (x) => (x ? HARD : -HARD))]));
      let sum = 0;
      for (const b of batches) sum += (await trainer.loss(b, hard)) * perBatch;
      return sum;
    };
    const nearest = new Map(grids.map((g) => [g.name, g.nearest]));
    const before = await squaredError(nearest);

    const order = batchOrder(xs.length, batchSize, Math.ceil(o.iterations / Math.floor(xs.length / batchSize)), o.seed ?? 1);
    for (let step = 0; step < o.iterations; step++) await trainer.train(batchOf(order.next().value as Int32Array));

    const learned = new Map(grids.map((g) => [g.name, Uint8Array.from(trainer.params.get(v.get(g.name)!)!, (x, i) => (g.free[i] && x >= 0 ? 1 : 0))]));
    const after = await squaredError(learned);
    const keep = after <= before;
    let flipped = 0;
    let free = 0;
    for (const g of grids) {
      const h = (keep ? learned : nearest).get(g.name)!;
      for (let i = 0; i < h.length; i++) {
        if (!g.free[i]) continue;
        free++;
        if (h[i] !== g.nearest[i]) flipped++;
      }
      write(graph, plan, g, h, keep);
    }
    const db = (e: number) => (e > 0 ? 10 * Math.log10(signal / e) : Infinity);
    return {
      layers: unit.nodes.filter((n) => unit.weights.includes(n.input[1]!)).map((n) => n.name),
      nodes: unit.nodes.length,
      sqnrBefore: db(before),
      sqnrAfter: db(keep ? after : before),
      flipped: free ? flipped / free : 0,
      learned: keep,
    };
  } finally {
    await trainer.release();
  }
}

/** The weight as grid values of the rounding `h`: the exporter rounds them back to exactly these integers. */
function write(graph: Graph, plan: QuantPlan, g: WeightGrid, h: Uint8Array, learned: boolean): void {
  const values = gridValues(g, h);
  setRawData(graph.initializer(g.name)!, DT.FLOAT, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  if (learned) plan.weights[g.name]!.params!.state = 'trained';
}

/**
 * Checks that every weight whose rounding was learned is still on its grid with the plan's scales,
 * as the exporter will round it: a scale enlarged after AdaRound (an int32 bias that a later bias
 * correction made too large for the weight's scale) would round other integers than those learned.
 */
export function checkLearnedRounding(graph: Graph, plan: QuantPlan): void {
  for (const [name, e] of Object.entries(plan.weights)) {
    if (e.params?.state !== 'trained') continue;
    const t = graph.initializer(name);
    if (!t) continue;
    const w = readFloat32(t);
    const g = weightGrid(graph, plan, name);
    for (let i = 0; i < w.length; i++) {
      const s = g.scale[g.channel[i]!]!;
      const u = Math.fround(w[i]! / s);
      if (Math.abs(u - roundHalfEven(u)) > 1e-3)
        fail(
          'BAD_OPTION',
          `the learned rounding of weight '${name}' no longer holds: its scale (channel ${g.channel[i]}) was enlarged after AdaRound so that an int32 bias fits, ` +
            'which happens when bias correction grows a bias past what the weight scale allows. Drop --bias-correction with --method adaround.',
        );
    }
  }
}

function sumSquares(a: Float32Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return s;
}

function size(cal: Calibration, name: string): number {
  return (cal.types.get(name)?.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
