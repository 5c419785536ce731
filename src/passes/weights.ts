/** Shared by the folding passes: per-channel constants, scaling a layer's output channels, and swapping in new weights or biases. */
import type { NodeProto, TensorProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrInt } from '../ir/node.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';

/** Adds `data` as a new float initializer and makes it input `index` of `node` (appending a bias input if absent). */
export function setConstantInput(graph: Graph, node: NodeProto, index: number, base: string, dims: readonly number[], data: Float32Array): void {
  const name = graph.uniqueName(base);
  graph.addInitializer(floatTensor(name, dims, data));
  graph.setInput(node, index, name);
}

/** Multiplies each output channel of the weight by k[c]; false when the layout is not understood. */
export function scaleOutputChannels(node: NodeProto, w: Float32Array, dims: number[], k: ArrayLike<number>): boolean {
  const channels = k.length;
  if (node.opType === 'Conv') {
    if (dims[0] !== channels) return false;
    const inner = w.length / channels;
    for (let c = 0; c < channels; c++) for (let i = 0; i < inner; i++) w[c * inner + i] *= k[c]!;
    return true;
  }
  if (node.opType === 'ConvTranspose') {
    // W is [C_in, C_out/group, k…]; output channel o = g·(C_out/group) + j.
    const group = attrInt(node, 'group', 1);
    const perGroupOut = dims[1]!;
    if (perGroupOut * group !== channels) return false;
    const cin = dims[0]!;
    const inner = w.length / (cin * perGroupOut);
    const cinPerGroup = cin / group;
    for (let ci = 0; ci < cin; ci++) {
      const g = Math.floor(ci / cinPerGroup);
      for (let j = 0; j < perGroupOut; j++) {
        const o = g * perGroupOut + j;
        const base = (ci * perGroupOut + j) * inner;
        for (let i = 0; i < inner; i++) w[base + i] *= k[o]!;
      }
    }
    return true;
  }
  // Gemm: Y = A·B' with B' = B (transB = 0, B is [K, N]) or Bᵀ (transB = 1, B is [N, K]).
  if (dims.length !== 2) return false;
  const transB = attrInt(node, 'transB', 0) === 1;
  const [r, cols] = dims as [number, number];
  if ((transB ? r : cols) !== channels) return false;
  // α multiplies A·B' before C is added, so scaling the columns of B' is exact whatever α is.
  for (let i = 0; i < r; i++) for (let j = 0; j < cols; j++) w[i * cols + j] *= k[transB ? i : j]!;
  return true;
}

/**
 * The constant as one value per output channel, when it broadcasts over a Conv output [N, M, …]
 * along the channel axis only: a scalar, or [M, 1, …] / [1, M, 1, …] (trailing axes of size 1; a bare [M] would
 * broadcast along the last axis, W, and is refused).
 */
export function perChannel(t: TensorProto, channels: number, rank: number): Float32Array | undefined {
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
