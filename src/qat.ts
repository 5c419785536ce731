/**
 * Quantization-aware training on the ONNX model itself (src/train): calibrate as static quantization
 * does, put a FakeQuantize with the plan's parameters on every tensor the plan quantizes, fine-tune the
 * weights, biases and quantization scales (LSQ) with straight-through gradients on onnxruntime, then
 * export the trained model through the same plan and exporter as static quantization (state 'trained').
 *
 * The loss: cross-entropy against labels when given; otherwise distillation from the float model, whose
 * outputs onnxruntime computes for every batch (MSE, or KL for classifiers) — no labels needed.
 */
import type { ModelProto } from 'onnx-buf';
import { batchable } from './data/inputs.js';
import { loadBatch } from './data/batch.js';
import type { CalibrationSource, HostTensor } from './data/source.js';
import { fail } from './errors.js';
import { stampModel } from './ir/model.js';
import { floatTensor, tensorDims } from './onnx/tensor.js';
import { buildPlan, planKey } from './plan/build.js';
import { resolvePlan } from './plan/resolve.js';
import { weightSpec, type WeightEntry } from './plan/plan.js';
import { qrange } from './quant/spec.js';
import { forEachChannelRun } from './quant/quantize.js';
import type { RangeMethodName } from './calibrate/observer.js';
import { calibrate, quantizeCalibrated, type InputUse, type QuantizeOptions, type QuantizeResult } from './quantize.js';
import type { RunnerOptions } from './runtime/runner.js';
import { Runner } from './runtime/runner.js';
import { buildTrainingGraph, type Loss } from './train/graph.js';
import { insertFakeQuant, measureShapes } from './train/fake-quant.js';
import { fakeQuantSpecs, trainedPlan } from './train/from-plan.js';
import { batchOrder, initialParams, Trainer } from './train/loop.js';
import { adam, cosineSchedule, sgd } from './train/optimizers.js';

export type QatOptimizer = 'adam' | 'sgd';

export interface QatOptions extends Omit<QuantizeOptions, 'method' | 'plan' | 'budget' | 'compareMethods' | 'biasCorrection' | 'tensorrtCache' | 'eqSteps' | 'eqSamples' | 'eqObjective' | 'onProgress'> {
  /** How the ranges are initialised before training (default minmax). */
  method?: RangeMethodName;
  /** Passes over the training samples (default 1). */
  epochs?: number;
  /** Samples per training step (default 32; 1 where the model fixes its batch dimension at 1). */
  batchSize?: number;
  /** Peak learning rate (default 1e-3 with Adam, 1e-2 with SGD); cosine decay after a 5 % linear warm-up. */
  lr?: number;
  optimizer?: QatOptimizer;
  /** One class index per sample of the data, in its order: the loss is then cross-entropy. `description` (e.g. its file) names it in messages. */
  labels?: HostTensor & { description?: string };
  /** Distillation loss without labels (default mse; kl for classifiers). */
  loss?: 'mse' | 'kl';
  /** Train the quantization scales too (LSQ, default true); false trains weights and biases only. */
  learnScales?: boolean;
  /** Progress of calibration, then of training (`detail`: the loss so far). */
  onProgress?: (phase: string, done: number, total: number, detail?: string) => void;
}

export interface TrainingReport {
  loss: Loss;
  optimizer: QatOptimizer;
  lr: number;
  epochs: number;
  batchSize: number;
  /** Training samples (the data without the held-out samples). */
  samples: number;
  steps: number;
  /** Mean loss of each epoch. */
  epochLoss: number[];
  /** Mean loss of the first steps (up to 20), before training has moved much. */
  startLoss: number;
  trained: { weights: number; biases: number; scales: number };
  /** Tensors that could not be trained (the prediction does not depend on them). */
  untrained: string[];
  ms: number;
  msPerStep: number;
}

export interface QatResult extends QuantizeResult {
  training: TrainingReport;
}

const DEFAULT_BATCH = 32;
const EPSILON = 2 ** -23;
const TARGET = 'onnxq_target';
/** Ops whose weight (input 1) and bias (input 2) are fine-tuned. */
const LAYERS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

export async function qat(input: ModelProto, source: CalibrationSource, options: QatOptions = {}, use: InputUse = {}): Promise<QatResult> {
  const start = performance.now();
  const epochs = options.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1)
    fail('BAD_OPTION', `--epochs ${epochs} trains nothing: give a whole number of passes ≥ 1 (for quantization without training, use onnxq quantize).`);
  const optimizer = options.optimizer ?? 'adam';
  const lr = options.lr ?? (optimizer === 'adam' ? 1e-3 : 1e-2);
  if (!(lr > 0 && Number.isFinite(lr))) fail('BAD_OPTION', `--lr takes a learning rate > 0, e.g. 1e-4; got ${lr}.`);
  if (options.labels && options.loss) fail('BAD_OPTION', `--loss ${options.loss} is a distillation loss; with --labels the loss is cross-entropy. Drop one of them.`);
  const labels = options.labels ? labelsOf(options.labels, source) : undefined;
  const method = options.method ?? 'minmax';
  if (use.consume && options.validate !== false && !options.floatModelFile) throw new Error('qat: a consumed input needs floatModelFile to validate against'); // a caller's bug

  const wantBatch = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(wantBatch) || wantBatch < 1) fail('BAD_OPTION', `--batch-size takes a whole number ≥ 1; got ${wantBatch}.`);
  if (options.percentile !== undefined && method !== 'percentile')
    fail('BAD_OPTION', `--percentile applies to --method percentile; the method here is ${method}. Add --method percentile or drop --percentile.`);
  // Calibration runs one sample at a time, as onnxq quantize does by default: --batch-size is training's.
  const { onProgress, batchSize: _training, ...rest } = options;
  const planOptions = { ...rest, method };
  const cal = await calibrate(input, source, { ...rest, onProgress, holdOut: options.validate !== false, methods: [method], method, planOptions: [planOptions] }, use);
  const warnings: string[] = [];
  const batch = batchable(cal.model) ? wantBatch : 1;
  if (labels && batch === 1) {
    const first = Object.values(await source.load(0))[0];
    if (first && first.dims.length > 0 && first.dims[0]! > 1)
      fail('BAD_OPTION', `the model fixes its batch dimension at ${first.dims[0]}, so each sample of ${source.description} holds ${first.dims[0]} items, but --labels gives one class per sample. Export the model with a free (or unit) batch dimension, or train without --labels (distillation).`);
  }
  if (batch !== wantBatch)
    warnings.push(`the model fixes its batch dimension, so training runs one sample per step${options.batchSize ? ` (--batch-size ${options.batchSize} had no effect)` : ''}.`);
  const built = cal.plans.get(planKey(planOptions)) ?? buildPlan(cal.graph, cal.types, planOptions);
  warnings.push(...built.warnings);
  const plan = structuredClone(built.plan);
  resolvePlan(plan, cal.stats, (n) => cal.graph.constant(n), options.percentile !== undefined ? { percentile: options.percentile } : {});

  const heldOut = new Set(cal.selection.shared ? [] : cal.selection.heldOut);
  const train = Array.from({ length: source.count }, (_, i) => i).filter((i) => !heldOut.has(i));
  if (train.length < batch)
    fail('BAD_OPTION', `${source.description} holds ${train.length} training sample${train.length === 1 ? '' : 's'} (after ${heldOut.size} held out to validate), fewer than one batch of ${batch}: give more data or a smaller --batch-size.`);

  const runner: RunnerOptions = options.threads ? { threads: options.threads } : {};
  const loss: Loss = labels ? 'cross-entropy' : (options.loss ?? 'mse');
  const learnScales = options.learnScales ?? true;
  const { training, model: trained, scales } = await trainModel(cal.model, plan, source, train, {
    epochs,
    batch,
    loss,
    lr,
    optimizer,
    labels,
    learnScales,
    seed: options.seed ?? 0,
    runner,
    onProgress,
  });

  // The trained weights go into the prepared model, the trained scales into the plan; then the ordinary export.
  const finalPlan = learnScales ? trainedPlan(plan, scales) : plan;
  for (const t of cal.model.graph!.initializer) {
    const p = trained.get(t.name);
    if (!p) continue;
    const entry = finalPlan.weights[t.name];
    if (entry?.params && entry.params.state !== 'float') clipToGrid(p, tensorDims(t), entry);
    Object.assign(t, floatTensor(t.name, tensorDims(t), p));
  }
  const result = await quantizeCalibrated(cal, { ...rest, method, plan: finalPlan }, use);
  stampModel(result.model, 'qat', { ...rest, method, epochs, lr, optimizer, loss, batchSize: batch, ...(learnScales ? {} : { learnScales }) });
  return { ...result, warnings: [...warnings, ...result.warnings], training, timings: { ...result.timings, totalMs: performance.now() - start } };
}

interface TrainOptions {
  epochs: number;
  batch: number;
  loss: Loss;
  lr: number;
  optimizer: QatOptimizer;
  labels?: BigInt64Array;
  learnScales: boolean;
  seed: number;
  runner: RunnerOptions;
  onProgress?: QatOptions['onProgress'];
}

/**
 * Fine-tunes `model` (the prepared float model) with the plan's fake quantization. Returns the trained
 * weights and biases, and per quantized tensor the values of its scale (trained or as calibrated).
 */
async function trainModel(model: ModelProto, plan: ReturnType<typeof trainedPlan>, source: CalibrationSource, samples: number[], o: TrainOptions) {
  const specs = fakeQuantSpecs(plan);
  const first = await loadBatch(source, samples.slice(0, o.batch));
  const teacher = o.labels ? undefined : await Runner.create(model, { label: 'the float model (teacher)', ...o.runner });
  try {
    const fq = insertFakeQuant(model, specs, await measureShapes(model, first));
    const graph = fq.model.graph!;
    const floats = new Set(graph.initializer.filter((t) => t.dataType === 1).map((t) => t.name));
    const weights = new Set<string>();
    const biases = new Set<string>();
    for (const n of model.graph!.node)
      if (LAYERS.has(n.opType) && n.domain === '') {
        if (floats.has(n.input[1] ?? '')) weights.add(n.input[1]!);
        if (floats.has(n.input[2] ?? '')) biases.add(n.input[2]!);
      }
    const scaleNames = [...new Set(fq.scales)];
    const wanted = [...weights, ...biases, ...(o.learnScales ? scaleNames : [])];
    const prediction = model.graph!.output[0]!.name;
    if (o.labels) checkClasses(o.labels, fq.shapes.get(prediction), prediction);
    const graphOut = buildTrainingGraph(fq.model, { trainable: wanted, loss: o.loss, target: TARGET, output: prediction, shapes: fq.shapes, skipUntrainable: true });
    const params = initialParams(fq.model, [...graphOut.gradients.keys()]);
    const perEpoch = Math.floor(samples.length / o.batch);
    const steps = perEpoch * o.epochs;
    const optimizer = o.optimizer === 'adam' ? adam() : sgd({ momentum: 0.9 });
    const trainer = await Trainer.create(graphOut, params, { optimizer, lr: cosineSchedule({ lr: o.lr, steps, warmup: Math.ceil(steps * 0.05) }), runner: o.runner });
    const trainedScales = scaleNames.filter((n) => params.has(n));
    const largest = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const startMagnitude = new Map([...params].map(([name, p]) => [name, largest(p)]));
    const losses: number[] = [];
    const start = performance.now();
    try {
      for (const order of batchOrder(samples.length, o.batch, o.epochs, o.seed)) {
        const indices = Array.from(order, (k) => samples[k]!);
        const data = await loadBatch(source, indices);
        const target = o.labels ? labelBatch(o.labels, indices) : (await teacher!.run(data, [prediction]))[prediction]!;
        losses.push(await trainer.train({ ...data, [TARGET]: target }));
        // A step may push a scale to 0 or below, where fake quantization means nothing: kept positive as
        // PyTorch's learnable fake quantizer does (|s|, at least float32's epsilon).
        for (const name of trainedScales) {
          const s = params.get(name)!;
          for (let i = 0; i < s.length; i++) s[i] = Math.max(Math.abs(s[i]!), EPSILON);
        }
        o.onProgress?.('training', losses.length, steps, `loss ${losses.at(-1)!.toPrecision(4)}`);
      }
      // The loss each step reports is the one before its update: the last update is checked here, on the
      // first batch, against the loss training started from.
      const after = await trainer.loss({ ...first, [TARGET]: o.labels ? labelBatch(o.labels, samples.slice(0, o.batch)) : (await teacher!.run(first, [prediction]))[prediction]! });
      const startLoss = mean(losses.slice(0, 20));
      if (!Number.isFinite(after) || after > 10 * startLoss)
        fail('BAD_OPTION', `training diverged: the loss was ${startLoss.toPrecision(4)} when training started and is ${after} after the last step. Lower the learning rate (--lr); nothing was written.`);
      // Parameters a hundred times larger than they started: the fake-quantized loss may still look sane
      // (everything saturates), but the exported integers and int32 biases would not be.
      for (const [name, p] of params) {
        const before = startMagnitude.get(name)!;
        const now = largest(p);
        if (!Number.isFinite(now) || now > 100 * Math.max(before, 1e-3))
          fail('BAD_OPTION', `training diverged: '${name}' grew from at most ${before.toPrecision(3)} to ${now.toPrecision(3)}. Lower the learning rate (--lr); nothing was written.`);
      }
    } finally {
      await trainer.release();
    }
    const ms = performance.now() - start;
    // Scales not trained (or not reached by any gradient) keep their calibrated values.
    const calibrated = initialParams(fq.model, scaleNames.filter((n) => !params.has(n)));
    const scales = new Map(specs.map((s, i) => [s.tensor, params.get(fq.scales[i]!) ?? calibrated.get(fq.scales[i]!)!]));
    const trained = new Map([...params].filter(([name]) => weights.has(name) || biases.has(name)));
    const training: TrainingReport = {
      loss: o.loss,
      optimizer: o.optimizer,
      lr: o.lr,
      epochs: o.epochs,
      batchSize: o.batch,
      samples: samples.length,
      steps,
      epochLoss: Array.from({ length: o.epochs }, (_, e) => mean(losses.slice(e * perEpoch, (e + 1) * perEpoch))),
      startLoss: mean(losses.slice(0, 20)),
      trained: { weights: [...weights].filter((w) => params.has(w)).length, biases: [...biases].filter((b) => params.has(b)).length, scales: scaleNames.filter((s) => params.has(s)).length },
      untrained: graphOut.skipped,
      ms,
      msPerStep: ms / Math.max(1, steps),
    };
    return { training, model: trained, scales };
  } finally {
    await teacher?.release();
  }
}

/**
 * A weight clipped to the range its integers cover, (qmin − z)·s … (qmax − z)·s per channel: training saw it
 * clipped there, and the exporter, which rounds w/s and saturates at the storage type's limits, would
 * otherwise store −8 where training used −7 (symmetric 4-bit) for a weight that grew past the scale.
 */
function clipToGrid(w: Float32Array, dims: number[], e: WeightEntry): void {
  const { qmin, qmax } = qrange(weightSpec(e));
  const { scale, zeroPoint } = e.params!;
  forEachChannelRun(dims, e.axis, (c, start, end) => {
    const lo = (qmin - zeroPoint[c]!) * scale[c]!;
    const hi = (qmax - zeroPoint[c]!) * scale[c]!;
    for (let i = start; i < end; i++) w[i] = Math.min(hi, Math.max(lo, w[i]!));
  });
}

/** The labels as int64, one per sample of the source, checked. */
function labelsOf(t: HostTensor & { description?: string }, source: CalibrationSource): BigInt64Array {
  const what = `${t.description ?? 'the labels'} (${t.dtype} [${t.dims.join(', ')}])`;
  if (!/^u?int(8|16|32|64)$/.test(t.dtype))
    fail('BAD_CALIBRATION', `${what} must be class indices stored as integers (int64 or int32), one per sample; got ${t.dtype}. Save them as integers, e.g. numpy's labels.astype('int64').`);
  if (t.dims.length > 2 || (t.dims.length === 2 && t.dims[1] !== 1))
    fail('BAD_CALIBRATION', `${what} must hold one class index per sample, shape [N] or [N, 1]; one-hot or per-pixel labels are not supported.`);
  if (t.data.length !== source.count)
    fail('BAD_CALIBRATION', `${what} hold ${t.data.length} labels, but the data hold ${source.count} samples (${source.description}): give one label per sample, in the data's order.`);
  const out = t.data instanceof BigInt64Array ? t.data : BigInt64Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v));
  const bad = out.findIndex((v) => v < 0n);
  if (bad >= 0) fail('BAD_CALIBRATION', `${what}: label ${bad} is ${out[bad]}, and class indices start at 0.`);
  return out;
}

/** Every label names one of the K classes the prediction [batch, K] scores. */
function checkClasses(labels: BigInt64Array, shape: number[] | undefined, prediction: string): void {
  if (shape?.length !== 2) fail('BAD_CALIBRATION', `labels need a model whose first output scores classes, shape [batch, classes]; '${prediction}' has shape [${shape?.join(', ') ?? '?'}]. Train without --labels (distillation) instead.`);
  const k = BigInt(shape[1]!);
  const bad = labels.findIndex((v) => v >= k);
  if (bad >= 0) fail('BAD_CALIBRATION', `label ${bad} is ${labels[bad]}, but '${prediction}' scores ${k} classes (0 … ${k - 1n}).`);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function labelBatch(labels: BigInt64Array, indices: number[]): HostTensor {
  return { dtype: 'int64', dims: [indices.length], data: BigInt64Array.from(indices, (i) => labels[i]!) };
}
