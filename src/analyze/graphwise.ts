/**
 * Graph-wise error: the quantized model runs as deployed — each layer fed by the quantized layers
 * before it — and every quantized tensor it dequantizes is compared with the same tensor of the float
 * model on the same sample, so the table shows where error builds up along the graph (PPQ's
 * graphwise_error_analyse, ppq/quantization/analyse/graphwise.py, measures the same thing).
 */
import type { ModelProto } from 'onnx-buf';
import { loadBatch } from '../data/batch.js';
import type { CalibrationSource, HostTensor } from '../data/source.js';
import { fail } from '../errors.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import { ErrorAccumulator } from './metrics.js';

export interface TensorPair {
  /** The float model's tensor and the quantized model's tensor that stands for it. */
  float: string;
  quantized: string;
}

/** Error of each pair accumulated over the samples, keyed by the quantized model's tensor. */
export async function graphwiseErrors(
  floatModel: ModelProto,
  quantizedModel: ModelProto,
  pairs: readonly TensorPair[],
  source: CalibrationSource,
  indices: readonly number[],
  runner: RunnerOptions = {},
  onSample?: (done: number, total: number) => void,
): Promise<Map<string, ErrorAccumulator>> {
  const floatNames = [...new Set(pairs.map((p) => p.float))];
  const quantNames = [...new Set(pairs.map((p) => p.quantized))];
  const f = await Runner.create(floatModel, { ...runner, label: 'the float model', add: { outputs: floatNames } });
  let q: Runner | undefined;
  try {
    q = await Runner.create(quantizedModel, { ...runner, label: 'the quantized model', add: { outputs: quantNames } });
    const acc = new Map(pairs.map((p) => [p.quantized, new ErrorAccumulator()]));
    for (const [k, i] of indices.entries()) {
      const feeds = await loadBatch(source, [i]);
      const ref = await f.run(feeds, floatNames);
      const got = await q.run(feeds, quantNames);
      for (const p of pairs) {
        const a = float32Values(ref[p.float]);
        const b = float32Values(got[p.quantized]);
        if (!a || !b) continue;
        if (a.length !== b.length)
          fail('BAD_MODEL', `the float model's tensor '${p.float}' has ${a.length} values and the quantized model's '${p.quantized}', which stands for it, ${b.length}: the models do not correspond there. Give the float model the quantized one was made from.`);
        acc.get(p.quantized)!.add(a, b);
      }
      onSample?.(k + 1, indices.length);
    }
    return acc;
  } finally {
    await q?.release();
    await f.release();
  }
}

/** A fetched tensor's values when they are float32; other element types are not compared. */
export function float32Values(t: HostTensor | undefined): Float32Array | undefined {
  return t && t.data instanceof Float32Array ? t.data : undefined;
}
