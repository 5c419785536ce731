/**
 * The training loop: parameters live in Float32Arrays, fed with each batch to ONE onnxruntime session
 * over the training graph (built once); the gradients it returns go to the optimizer, which updates
 * the arrays in place. Batches are drawn in an order shuffled by a seeded generator, so that the same
 * seed gives the same run.
 */
import { cloneModel } from '../onnx/external.js';
import type { ModelProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { Rng } from '../data/random.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import type { HostTensor, Sample } from '../data/source.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import type { TrainingGraph } from './graph.js';
import type { Optimizer } from './optimizers.js';

export interface TrainerOptions {
  optimizer: Optimizer;
  /** A constant learning rate, or one per step (cosineSchedule). */
  lr: number | ((step: number) => number);
  runner?: RunnerOptions;
  /**
   * Terms of the gradient computed in TypeScript rather than in the graph (a regulariser on the
   * parameters, a weighting of the loss), applied to the graph's gradients in place before each update;
   * `step` is 0-based.
   */
  adjustGradients?: (grads: Map<string, Float32Array>, params: ReadonlyMap<string, Float32Array>, step: number) => void;
}

export class Trainer {
  private steps = 0;
  private readonly dims = new Map<string, number[]>();

  private constructor(
    private readonly runner: Runner,
    private readonly graph: TrainingGraph,
    /** The current parameters, updated in place by each step. */
    readonly params: Map<string, Float32Array>,
    private readonly options: TrainerOptions,
  ) {
    for (const v of graph.model.graph!.input) {
      const t = v.type?.value;
      if (params.has(v.name) && t?.case === 'tensorType') this.dims.set(v.name, t.value.shape!.dim.map((d) => Number(d.value.value)));
    }
  }

  /** `params`: the starting value of every trainable tensor (initialParams). */
  static async create(graph: TrainingGraph, params: Map<string, Float32Array>, options: TrainerOptions): Promise<Trainer> {
    for (const name of graph.gradients.keys()) if (!params.has(name)) fail('BAD_OPTION', `no starting value for the trainable tensor '${name}'.`);
    const runner = await Runner.create(graph.model, { label: 'the training graph', ...options.runner });
    return new Trainer(runner, graph, params, options);
  }

  get step(): number {
    return this.steps;
  }

  /** One step on one batch (data inputs and the target, with the batch size the graph was built for); returns the loss before the update. */
  async train(batch: Sample): Promise<number> {
    const out = await this.forward(batch, this.params);
    const loss = out[this.graph.loss]!.data[0] as number;
    if (!Number.isFinite(loss))
      fail('BAD_OPTION', `the loss became ${loss} at step ${this.steps + 1}: training diverged. Lower the learning rate (--lr).`);
    const grads = new Map<string, Float32Array>();
    for (const [name, output] of this.graph.gradients) grads.set(name, out[output]!.data as Float32Array);
    this.options.adjustGradients?.(grads, this.params, this.steps);
    const lr = typeof this.options.lr === 'number' ? this.options.lr : this.options.lr(this.steps);
    this.options.optimizer.step(this.params, grads, lr);
    this.steps++;
    return loss;
  }

  /** The loss on one batch with the given parameters (default: the current ones), nothing updated. */
  async loss(batch: Sample, params: ReadonlyMap<string, Float32Array> = this.params): Promise<number> {
    const out = await this.forward(batch, params);
    return out[this.graph.loss]!.data[0] as number;
  }

  private forward(batch: Sample, params: ReadonlyMap<string, Float32Array>) {
    const feeds: Sample = { ...batch };
    for (const [name, data] of params) feeds[name] = { dtype: 'float32', dims: this.dims.get(name)!, data };
    return this.runner.run(feeds);
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

/** A copy of the values of the named initializers: the parameters to start training from. */
export function initialParams(model: ModelProto, names: readonly string[]): Map<string, Float32Array> {
  const weights = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  return new Map(
    names.map((name) => {
      const t = weights.get(name);
      if (!t) fail('BAD_OPTION', `'${name}' is not an initializer of the model.`);
      return [name, Float32Array.from(readFloat32(t))];
    }),
  );
}

/** The model with the named initializers replaced by trained values (for evaluation or export). */
export function withParams(model: ModelProto, params: ReadonlyMap<string, Float32Array>): ModelProto {
  const out = cloneModel(model);
  out.graph!.initializer = out.graph!.initializer.map((t) => {
    const p = params.get(t.name);
    return p ? floatTensor(t.name, tensorDims(t), Float32Array.from(p)) : t;
  });
  return out;
}

/** Samples stacked along a leading axis: `data` holds `count` samples of shape `dims` each. */
export interface Stacked {
  dtype: 'float32' | 'int64';
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Floats in [0, 1) from onnxq's one seeded generator (data/random.ts): the same seed, the same order everywhere. */
export function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.nextFloat();
}

/** The sample order of each epoch: a Fisher–Yates shuffle of 0…count−1, cut into whole batches (the rest dropped). */
export function* batchOrder(count: number, batchSize: number, epochs: number, seed: number): Generator<Int32Array> {
  const next = random(seed);
  const order = Int32Array.from({ length: count }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b + batchSize <= count; b += batchSize) yield order.slice(b, b + batchSize);
  }
}

/** The samples at `indices` of each stacked tensor, as one batch. */
export function gather(data: Record<string, Stacked>, indices: Int32Array): Sample {
  const batch: Sample = {};
  for (const [name, t] of Object.entries(data)) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    const out = t.dtype === 'int64' ? new BigInt64Array(indices.length * size) : new Float32Array(indices.length * size);
    indices.forEach((k, i) => (out as Float32Array).set((t.data as Float32Array).subarray(k * size, (k + 1) * size), i * size));
    batch[name] = { dtype: t.dtype, dims: [indices.length, ...t.dims], data: out } satisfies HostTensor;
  }
  return batch;
}

export interface FitOptions {
  batchSize: number;
  epochs: number;
  seed?: number;
  /** Called after each step with the step number (1-based) and its loss. */
  onStep?: (step: number, loss: number) => void;
}

/** Trains over `data` (every graph input but the parameters, stacked per sample) for whole epochs; returns the losses. */
export async function fit(trainer: Trainer, data: Record<string, Stacked>, options: FitOptions): Promise<number[]> {
  const counts = Object.values(data).map((t) => t.data.length / t.dims.reduce((a, b) => a * b, 1));
  const count = Math.min(...counts);
  if (counts.some((c) => c !== count)) fail('BAD_OPTION', `the training data hold different numbers of samples (${counts.join(', ')}).`);
  const losses: number[] = [];
  for (const indices of batchOrder(count, options.batchSize, options.epochs, options.seed ?? 1)) {
    const loss = await trainer.train(gather(data, indices));
    losses.push(loss);
    options.onStep?.(trainer.step, loss);
  }
  return losses;
}
