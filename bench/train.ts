/**
 * Section 9: the cost of training on the ONNX file (src/train), on PaddleOCR's classifier (a
 * MobileNetV3) and the torch-trained Fashion-MNIST CNNs of bench/models/fashion: one training step — the
 * training graph's forward and backward in onnxruntime, the gradients out, Adam in TypeScript — against
 * one float forward pass of the same model on the same batch, and the process's peak memory. Every
 * Conv/Gemm weight and bias is trained, MSE against the float model's own outputs (distillation).
 */
import { loadModelFile, prepareModel, type Sample } from '../src/index.js';
import { readFloat32 } from '../src/onnx/tensor.js';
import { Runner } from '../src/runtime/runner.js';
import { buildTrainingGraph } from '../src/train/graph.js';
import { measureShapes } from '../src/train/fake-quant.js';
import { Trainer } from '../src/train/loop.js';
import { adam } from '../src/train/optimizers.js';
import { ocrSample, OCR_MODELS } from './ocr-data.js';
import { fashion } from './fashion-data.js';
import { concatSamples } from '../src/data/batch.js';
import { FASHION_MODELS } from './qat.js';
import { procStatus } from './proc-status.js';
import { ms, table, x } from './report.js';

export interface TrainStep {
  model: string;
  batch: number;
  trainable: number;
  forwardMs: number;
  stepMs: number;
  ratio: number;
  peakMb: number;
}

const RUNS = 20;

const NAMES = { cls: 'PaddleOCR cls (MobileNetV3)', mbv2: 'Fashion-MNIST MobileNetV2-style', resnet: 'Fashion-MNIST ResNet-style' } as const;

export async function trainingStep(which: keyof typeof NAMES, batch: number, threads: number | undefined): Promise<TrainStep> {
  const { model } = loadModelFile(which === 'cls' ? OCR_MODELS.cls : FASHION_MODELS[which]);
  prepareModel(model, { minOpset: 16 });
  const graph = model.graph!;
  const floats = new Set(graph.initializer.filter((t) => t.dataType === 1).map((t) => t.name));
  const trainable = [...new Set(graph.node.flatMap((n) => (n.opType === 'Conv' || n.opType === 'Gemm' ? n.input.slice(1, 3).filter((i) => floats.has(i)) : [])))];
  const input = graph.input[0]!.name;
  const data: Sample = { [input]: which === 'cls' ? clsBatch(input, batch) : { dtype: 'float32', dims: [batch, 1, 28, 28], data: (fashion('test', 10).x.data as Float32Array).slice(0, batch * 784) } };
  const runner = { ...(threads ? { threads } : {}) };
  const forward = await Runner.create(model, runner);
  const target = Object.values(await forward.run(data))[0]!;
  const forwardMs = await median(() => forward.run(data));
  await forward.release();
  const training = buildTrainingGraph(model, { trainable, loss: 'mse', target: 'target', shapes: await measureShapes(model, data) });
  const params = new Map(trainable.map((n) => [n, Float32Array.from(readFloat32(graph.initializer.find((t) => t.name === n)!))]));
  const trainer = await Trainer.create(training, params, { optimizer: adam(), lr: 1e-4, runner });
  const feeds: Sample = { ...data, target };
  const stepMs = await median(() => trainer.train(feeds));
  await trainer.release();
  return { model: NAMES[which], batch, trainable: trainable.length, forwardMs, stepMs, ratio: stepMs / forwardMs, peakMb: procStatus('VmHWM') / 2 ** 20 };
}

/** `batch` rendered text lines for PaddleOCR cls, stacked. */
function clsBatch(input: string, batch: number): Sample[string] {
  return concatSamples(Array.from({ length: batch }, (_, i) => ({ [input]: ocrSample('cls', i)[input]! })))[input]!;
}

async function median(f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[RUNS >> 1]!;
}

export function printTrainingStep(rows: TrainStep[]): void {
  table(
    'One training step (forward + backward as ONNX in onnxruntime, Adam in TypeScript) against one float forward pass',
    ['model', 'batch', 'trained tensors', 'forward', 'step', 'step ÷ forward', 'peak RSS'],
    rows.map((r) => [r.model, r.batch, r.trainable, ms(r.forwardMs, 2), ms(r.stepMs, 2), x(r.ratio, 1), `${r.peakMb.toFixed(0)} MB`]),
    ['Aim ≤ 4 (PyTorch: about 3). Weights fed as inputs each step keep onnxruntime from its NCHWc convolutions, which need constant weights.'],
  );
}
