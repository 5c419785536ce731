/** Top-1 accuracy of a classifier (one float input, an output of class scores [batch, K]) on labelled samples. */
import type { ModelProto } from 'onnx-buf';
import { Runner } from '../src/runtime/runner.js';
import { gather, type Stacked } from '../src/train/loop.js';

export interface ClassifierIo {
  input: string;
  output: string;
  /** Samples per run (the last partial batch is left out). */
  batch: number;
  threads?: number;
}

export async function top1(model: ModelProto | string, data: { x: Stacked; labels: Stacked }, io: ClassifierIo): Promise<number> {
  const runner = await Runner.create(model, io.threads ? { threads: io.threads } : {});
  const count = data.labels.data.length;
  let right = 0;
  let seen = 0;
  try {
    for (let b = 0; b + io.batch <= count; b += io.batch) {
      const indices = Int32Array.from({ length: io.batch }, (_, i) => b + i);
      const scores = (await runner.run({ [io.input]: gather({ x: data.x }, indices).x! }))[io.output]!.data as Float32Array;
      const k = scores.length / io.batch;
      for (let i = 0; i < io.batch; i++) {
        const row = scores.subarray(i * k, (i + 1) * k);
        if (row.indexOf(Math.max(...row)) === Number(data.labels.data[b + i])) right++;
      }
      seen += io.batch;
    }
  } finally {
    await runner.release();
  }
  return right / seen;
}
