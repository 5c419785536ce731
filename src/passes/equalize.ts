/**
 * Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
 * and Bias Correction", §4.1): for two layers W1 → f → W2 where f is positively homogeneous
 * (f(s·x) = s·f(x) for s > 0: Relu, LeakyRelu, PRelu, max and average pooling), output channel i of W1
 * and input channel i of W2 are rescaled by s_i = √(r1_i / r2_i): W1_i /= s_i, b1_i /= s_i,
 * W2[:, i] *= s_i. The float function is unchanged, and both channel ranges become √(r1_i·r2_i) — which
 * helps most where weights share one scale per tensor (a depthwise layer's channels ranging over
 * orders of magnitude). Chains W1 → W2 → W3 are equalized pair by pair, repeatedly (PPQ's
 * LayerwiseEqualization runs 10 rounds, ppq/quantization/algorithm/equalization.py); s is kept in
 * [0.01, 100] so that no channel is pushed into float32's denormals.
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrInt } from '../ir/node.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { scaleOutputChannels, setConstantInput } from './weights.js';

const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'PRelu', 'MaxPool', 'AveragePool']);
const ROUNDS = 10;
const S_MIN = 0.01;
const S_MAX = 100;

interface Pair {
  first: NodeProto;
  second: NodeProto;
}

/** Equalizes every pair it finds; returns the number of layer pairs. */
export function equalizeLayers(graph: Graph): number {
  const pairs = findPairs(graph);
  for (let round = 0; round < ROUNDS; round++) for (const p of pairs) equalizePair(graph, p);
  graph.removeUnused(); // weights another layer also read were copied
  return pairs.length;
}

/** Layers with a constant weight whose output channels are axis `outAxis` of the weight. */
function isLayer(graph: Graph, n: NodeProto): boolean {
  if (!graph.constant(n.input[1] ?? '')) return false;
  if (n.input[2] && !graph.constant(n.input[2])) return false;
  if (n.opType === 'Conv') return true;
  return n.opType === 'Gemm' && attrInt(n, 'transA', 0) === 0 && tensorDims(graph.constant(n.input[1]!)!).length === 2;
}

function findPairs(graph: Graph): Pair[] {
  const pairs: Pair[] = [];
  for (const first of graph.nodes) {
    if (!isLayer(graph, first)) continue;
    let t = first.output[0]!;
    let second: NodeProto | undefined;
    for (;;) {
      const readers = graph.consumers(t);
      if (readers.length !== 1 || graph.isGraphOutput(t)) break;
      const r = readers[0]!;
      if (r.input[0] !== t) break;
      if (HOMOGENEOUS.has(r.opType)) {
        t = r.output[0]!;
        continue;
      }
      if (isLayer(graph, r)) second = r;
      break;
    }
    if (second && channelsMatch(graph, first, second)) pairs.push({ first, second });
  }
  return pairs;
}

/** Output channels of the first layer, and whether the second reads them one to one. */
function channelsMatch(graph: Graph, first: NodeProto, second: NodeProto): boolean {
  const out = outputChannels(first, tensorDims(graph.constant(first.input[1]!)!));
  const w2 = tensorDims(graph.constant(second.input[1]!)!);
  if (second.opType === 'Conv') {
    const group = attrInt(second, 'group', 1);
    return group === 1 ? w2[1] === out : group === out && w2[0] === out && w2[1] === 1; // plain, or depthwise
  }
  return (attrInt(second, 'transB', 0) ? w2[1] : w2[0]) === out;
}

function outputChannels(n: NodeProto, dims: number[]): number {
  if (n.opType === 'Conv') return attrInt(n, 'group', 1) === 1 || dims[1] === 1 ? dims[0]! : -1; // grouped convs mix channels per group
  return attrInt(n, 'transB', 0) ? dims[0]! : dims[1]!;
}

function equalizePair(graph: Graph, { first, second }: Pair): void {
  const w1t = graph.constant(first.input[1]!)!;
  const w2t = graph.constant(second.input[1]!)!;
  const d1 = tensorDims(w1t);
  const d2 = tensorDims(w2t);
  const channels = outputChannels(first, d1);
  const w1 = Float32Array.from(readFloat32(w1t));
  const w2 = Float32Array.from(readFloat32(w2t));
  const r1 = new Float64Array(channels);
  const r2 = new Float64Array(channels);
  const k1 = new Float64Array(channels).fill(1);
  // Ranges: max |w| over each output channel of W1 (found by scaling with a probe), each input channel of W2.
  eachOutputChannel(first, w1, d1, (c, v) => (r1[c] = Math.max(r1[c]!, Math.abs(v))));
  eachInputChannel(second, w2, d2, (c, v) => (r2[c] = Math.max(r2[c]!, Math.abs(v))));
  const s = new Float64Array(channels);
  let changed = false;
  for (let c = 0; c < channels; c++) {
    const sc = r1[c]! > 0 && r2[c]! > 0 ? Math.min(S_MAX, Math.max(S_MIN, Math.sqrt(r1[c]! / r2[c]!))) : 1;
    s[c] = sc;
    k1[c] = 1 / sc;
    if (Math.abs(sc - 1) > 1e-6) changed = true;
  }
  if (!changed) return;
  scaleOutputChannels(first, w1, d1, k1);
  scaleInputChannels(second, w2, d2, s);
  replace(graph, first, 1, w1t, d1, w1);
  replace(graph, second, 1, w2t, d2, w2);
  const bias = first.input[2] ? graph.constant(first.input[2]) : undefined;
  if (bias) {
    const b = Float32Array.from(readFloat32(bias));
    if (b.length === channels) {
      for (let c = 0; c < channels; c++) b[c] = b[c]! / s[c]!;
      replace(graph, first, 2, bias, tensorDims(bias), b);
    }
  }
}

/** The same initializer rewritten, or a new one where another node reads it too. */
function replace(graph: Graph, node: NodeProto, index: number, t: TensorProto, dims: number[], data: Float32Array): void {
  if (graph.consumers(t.name).length > 1 || !graph.initializer(t.name)) return setConstantInput(graph, node, index, `${t.name}_equalized`, dims, data);
  graph.removeInitializer(t.name);
  graph.addInitializer(floatTensor(t.name, dims, data));
}

function eachOutputChannel(n: NodeProto, w: Float32Array, dims: number[], fn: (c: number, v: number) => void): void {
  if (n.opType === 'Conv') {
    const inner = w.length / dims[0]!;
    for (let i = 0; i < w.length; i++) fn(Math.floor(i / inner), w[i]!);
    return;
  }
  const cols = dims[1]!;
  const transB = attrInt(n, 'transB', 0) === 1;
  for (let i = 0; i < w.length; i++) fn(transB ? Math.floor(i / cols) : i % cols, w[i]!);
}

/** Visits W2's values with the input channel each multiplies. */
function eachInputChannel(n: NodeProto, w: Float32Array, dims: number[], fn: (c: number, v: number) => void): void {
  if (n.opType === 'Conv') {
    const depthwise = attrInt(n, 'group', 1) > 1;
    const perOut = w.length / dims[0]!;
    const inner = perOut / dims[1]!;
    for (let i = 0; i < w.length; i++) fn(depthwise ? Math.floor(i / perOut) : Math.floor((i % perOut) / inner), w[i]!);
    return;
  }
  const cols = dims[1]!;
  const transB = attrInt(n, 'transB', 0) === 1;
  for (let i = 0; i < w.length; i++) fn(transB ? i % cols : Math.floor(i / cols), w[i]!);
}

function scaleInputChannels(n: NodeProto, w: Float32Array, dims: number[], s: ArrayLike<number>): void {
  const values = w;
  let i = 0;
  eachInputChannel(n, w, dims, (c) => {
    values[i] = values[i]! * s[c]!;
    i++;
  });
}
