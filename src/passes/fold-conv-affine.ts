/**
 * Folds a Mul or Add by a per-channel (or scalar) constant that directly follows a Conv into the
 * Conv's weights and bias: (W∗x + b)·a + c = (a·W)∗x + (a·b + c). Exported nets often keep such
 * affine steps separate (PaddleOCR's learnable affine blocks, decomposed batch norms); left alone,
 * each would be requantized to 8 bits on its own, and per-channel weight scales absorb them exactly.
 * ONNX Runtime does the same at its basic level (ConvMulFusion, ConvAddFusion).
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import { DT } from '../onnx/dtype.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';

export function foldConvAffine(graph: Graph): number {
  let folded = 0;
  for (let again = true; again; ) {
    again = false;
    for (const node of [...graph.nodes]) {
      if ((node.opType !== 'Mul' && node.opType !== 'Add') || node.domain !== '') continue;
      const [a, b] = node.input as [string, string];
      const constIndex = graph.constant(b) ? 1 : graph.constant(a) ? 0 : -1;
      if (constIndex < 0) continue;
      const y = node.input[1 - constIndex]!;
      const conv = graph.producer(y);
      if (!conv || conv.opType !== 'Conv' || conv.domain !== '' || graph.consumers(y).length !== 1 || graph.isGraphOutput(y)) continue;
      const weight = graph.constant(conv.input[1]!);
      const constant = graph.constant(node.input[constIndex]!)!;
      if (!weight || weight.dataType !== DT.FLOAT || constant.dataType !== DT.FLOAT) continue;
      const channels = tensorDims(weight)[0]!;
      const values = perChannel(constant, channels, tensorDims(weight).length);
      if (!values) continue;
      fold(graph, conv, node, weight, values, channels);
      folded++;
      again = true;
    }
  }
  if (folded) graph.removeUnused();
  return folded;
}

/**
 * The constant as one value per output channel, when it broadcasts over a Conv output [N, M, …]
 * along the channel axis only: a scalar, [M], or [M, 1, …] / [1, M, 1, …] (trailing axes of size 1).
 */
function perChannel(t: TensorProto, channels: number, rank: number): Float32Array | undefined {
  const dims = tensorDims(t);
  const data = readFloat32(t);
  if (data.length === 1) return new Float32Array(channels).fill(data[0]!);
  if (data.length !== channels || dims.length > rank) return undefined;
  // Right-aligned broadcasting: the channel axis of the output is at rank − 1 − (rank − 2) from the right.
  const fromRight = rank - 1; // position of the channel axis counted from the right, 1-based: rank − 1
  const axis = dims.length - fromRight;
  if (axis < 0 || dims[axis] !== channels) return undefined;
  return dims.every((d, i) => i === axis || d === 1) ? data : undefined;
}

function fold(graph: Graph, conv: NodeProto, node: NodeProto, weight: TensorProto, k: Float32Array, channels: number): void {
  const oldBias = conv.input[2] ? graph.constant(conv.input[2]) : undefined;
  const bias = oldBias ? Float32Array.from(readFloat32(oldBias)) : new Float32Array(channels);
  if (node.opType === 'Mul') {
    const w = Float32Array.from(readFloat32(weight));
    const inner = w.length / channels;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < inner; i++) w[c * inner + i] *= k[c]!;
      bias[c] *= k[c]!;
    }
    const wName = graph.uniqueName(`${conv.input[1]}_scaled`);
    graph.addInitializer(floatTensor(wName, tensorDims(weight), w));
    conv.input[1] = wName;
  } else {
    for (let c = 0; c < channels; c++) bias[c] += k[c]!;
  }
  const bName = graph.uniqueName(`${conv.name || conv.output[0]}_bias`);
  graph.addInitializer(floatTensor(bName, [channels], bias));
  if (conv.input.length < 3) conv.input.push(bName);
  else conv.input[2] = bName;
  // The Conv now writes the Mul/Add's output.
  const out = node.output[0]!;
  graph.removeNode(node);
  conv.output[0] = out;
  graph.invalidate();
}
