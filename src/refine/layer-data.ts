/**
 * What layer-by-layer refinements (EasyQuant, AdaRound) run on: for chosen tensors, the value a layer
 * reads in the model quantized as refined so far, and the float model's value of the layer's output,
 * per calibration sample. Quantizing with the plan as it stands, each layer is fed the error of every
 * earlier one, as the papers do.
 */
import { cloneModel } from '../onnx/external.js';
import type { ModelProto } from 'onnx-buf';
import type { CalibrationSource, HostTensor } from '../data/source.js';
import { exportQdq } from '../export/qdq.js';
import { Graph } from '../ir/graph.js';
import type { QuantPlan } from '../plan/plan.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';

/** A tensor to fetch from the quantized model and the float output it is compared with. */
export interface Tap {
  /** Value of the QDQ model holding the layer's input before its quantization (or a graph input). */
  fetch: string;
  /** The layer's output in the float model. */
  output: string;
}

export interface TapData {
  /** Per fetched tensor and per float output, one tensor per sample, in the order of the indices. */
  xs: Map<string, HostTensor[]>;
  ys: Map<string, HostTensor[]>;
}

/** `n` indices spread evenly over the calibration selection (all of them when it has no more). */
export function spread(selection: readonly number[], n: number): number[] {
  if (selection.length <= n) return [...selection];
  return Array.from({ length: n }, (_, i) => selection[Math.floor((i * selection.length) / n)]!);
}

/**
 * Exports `model` (a prepared float model, not changed) with `plan`, and runs it and `floatRunner`
 * (the float model, exposing the taps' outputs) over the samples.
 */
export async function collectTaps(
  source: CalibrationSource,
  model: ModelProto,
  plan: QuantPlan,
  taps: readonly Tap[],
  indices: readonly number[],
  floatRunner: Runner,
  options: RunnerOptions,
): Promise<TapData> {
  const quantizedModel = cloneModel(model);
  const graph = new Graph(quantizedModel.graph!);
  const fetch = [...new Set(taps.filter((t) => !graph.isGraphInput(t.fetch)).map((t) => t.fetch))];
  const outputs = [...new Set(taps.map((t) => t.output))];
  exportQdq(graph, quantizedModel, plan);
  const quantized = await Runner.create(quantizedModel, { ...options, add: { outputs: fetch } });
  const xs = new Map<string, HostTensor[]>();
  const ys = new Map<string, HostTensor[]>();
  const push = (m: Map<string, HostTensor[]>, k: string, t: HostTensor) => (m.get(k) ?? m.set(k, []).get(k)!).push(t);
  try {
    for (const i of indices) {
      const sample = await source.load(i);
      const q = fetch.length ? await quantized.run(sample, fetch) : {};
      for (const t of taps) push(xs, t.fetch, q[t.fetch] ?? sample[t.fetch]!);
      const f = await floatRunner.run(sample, outputs);
      for (const o of outputs) push(ys, o, f[o]!);
    }
  } finally {
    await quantized.release();
  }
  return { xs, ys };
}
