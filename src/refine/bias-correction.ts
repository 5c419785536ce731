/**
 * Empirical bias correction (Nagel et al. 2019, §4.2; NNCF's BiasCorrection, PPQ's BiasCorrectionPass):
 * quantizing a layer's weights W to W̃ shifts the mean of its output by E[(W − W̃)·x], which the next
 * layers see as a bias error — large where a channel's weights are few or coarse (depthwise layers,
 * low bit widths). The shift is measured on calibration samples and added to the layer's bias:
 * b ← b + E[(W − W̃)·x] per output channel, with x the float model's input to the layer.
 *
 * One session computes every layer's shift: beside each Conv/Gemm, a copy of it without bias runs on
 * the same input with the weight error ε = W − W̃ as its weight, and a ReduceMean keeps one number per
 * output channel.
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import { loadBatch } from '../data/batch.js';
import type { Graph } from '../ir/graph.js';
import { opsetVersion } from '../ir/model.js';
import { attrFloat, makeNode } from '../ir/node.js';
import { floatTensor, int64Tensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { isQuantized, weightParams, type QuantPlan } from '../plan/plan.js';
import { fakeQuantize } from '../quant/quantize.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import type { Calibration } from '../quantize.js';
import { setConstantInput } from '../passes/weights.js';

export interface BiasCorrectionReport {
  /** Layers whose bias was corrected, and the largest shift of any channel, relative to that layer's largest |bias| (or 1 without a bias). */
  layers: number;
  samples: number;
  largestShift: number;
  ms: number;
}

interface Corrected {
  node: NodeProto;
  weight: string;
  /** The session output holding the layer's mean output shift per channel. */
  output: string;
}

/**
 * Corrects the biases of `graph` (the copy being exported, whose weights `plan` has resolved) from
 * runs of the calibration's float model; adds a bias where a layer has none, and plans it.
 */
export async function correctBiases(cal: Calibration, graph: Graph, plan: QuantPlan, options: { samples?: number; runner?: RunnerOptions } = {}): Promise<BiasCorrectionReport> {
  const start = performance.now();
  const layers: Corrected[] = [];
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const opset = opsetVersion(cal.model);
  for (const [name, entry] of Object.entries(plan.weights)) {
    if (!isQuantized(entry)) continue;
    const readers = graph.consumers(name);
    const node = readers.length === 1 ? readers[0]! : undefined;
    if (!node || node.input[1] !== name || (node.opType !== 'Conv' && node.opType !== 'Gemm')) continue;
    const t = graph.constant(name)!;
    const dims = tensorDims(t);
    const w = readFloat32(t);
    const q = fakeQuantize(w, dims, weightParams(entry));
    const eps = Float32Array.from(w, (v, i) => v - q[i]!);
    const original = cal.graph.node(node.name);
    if (!original) continue;
    const id = `${node.name}_bias_correction`;
    initializers.push(floatTensor(`${id}_eps`, dims, eps));
    const rank = (cal.types.get(original.output[0]!)?.shape ?? []).length;
    if (rank < 2) continue;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    nodes.push({ ...makeNode({ opType: node.opType, name: `${id}_layer`, inputs: [original.input[0]!, `${id}_eps`], outputs: [`${id}_error`] }), attribute: original.attribute });
    if (opset >= 18) {
      initializers.push(int64Tensor(`${id}_axes`, [axes.length], axes));
      nodes.push(makeNode({ opType: 'ReduceMean', name: `${id}_mean`, inputs: [`${id}_error`, `${id}_axes`], outputs: [`${id}_shift`], attrs: { keepdims: 0 } }));
    } else nodes.push(makeNode({ opType: 'ReduceMean', name: `${id}_mean`, inputs: [`${id}_error`], outputs: [`${id}_shift`], attrs: { axes, keepdims: 0 } }));
    layers.push({ node, weight: name, output: `${id}_shift` });
  }
  const indices = cal.selection.calibration.slice(0, options.samples ?? 32);
  if (layers.length === 0 || indices.length === 0) return { layers: 0, samples: 0, largestShift: 0, ms: performance.now() - start };

  const shifts = new Map<Corrected, Float64Array>();
  const runner = await Runner.create(cal.model, { ...options.runner, label: 'the float model (bias correction)', add: { nodes, initializers, outputs: layers.map((l) => l.output) } });
  try {
    for (const i of indices) {
      const out = await runner.run(await loadBatch(cal.source, [i]), layers.map((l) => l.output));
      for (const l of layers) {
        const v = out[l.output]!.data as Float32Array;
        const sum = shifts.get(l) ?? shifts.set(l, new Float64Array(v.length)).get(l)!;
        for (let c = 0; c < v.length; c++) sum[c] += v[c]! / indices.length;
      }
    }
  } finally {
    await runner.release();
  }

  let largestShift = 0;
  for (const l of layers) {
    const shift = shifts.get(l)!;
    const beta = l.node.opType === 'Gemm' ? attrFloat(l.node, 'beta', 1) : 1;
    const biasName = l.node.input[2];
    const old = biasName ? graph.constant(biasName) : undefined;
    if (biasName && !old) continue; // a bias computed at run time: left alone
    if (old && readFloat32(old).length !== shift.length) continue; // a broadcast bias
    const b = old ? Float32Array.from(readFloat32(old)) : new Float32Array(shift.length);
    let scale = 0;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    for (let c = 0; c < b.length; c++) {
      const add = shift[c]! / (beta || 1);
      b[c] = b[c]! + add;
      largestShift = Math.max(largestShift, Math.abs(add) / (scale || 1));
    }
    if (old && graph.consumers(old.name).length === 1) {
      graph.removeInitializer(old.name);
      graph.addInitializer(floatTensor(old.name, [b.length], b));
    } else setConstantInput(graph, l.node, 2, `${l.node.name}_bias_corrected`, [b.length], b);
    const name = l.node.input[2]!;
    // A new bias is planned like the others: int32 with scale s_input·s_weight(·β), where the input is quantized.
    if (!plan.biases[name] && plan.activations[l.node.input[0]!]) plan.biases[name] = { node: l.node.name, input: l.node.input[0]!, weight: l.weight, ...(beta !== 1 ? { beta } : {}) };
  }
  return { layers: layers.length, samples: indices.length, largestShift, ms: performance.now() - start };
}
