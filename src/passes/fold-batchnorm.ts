/**
 * Folds an inference BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it:
 * with k = γ/√(σ² + ε), W' = W·k per output channel and b' = (b − μ)·k + β (Jacob et al. 2018,
 * "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", §3.2).
 * Quantizing the folded weights is what the integer kernels run, so ranges are measured after this.
 */
import type { NodeProto } from 'onnx-buf';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { attrFloat, attrInt, setAttr } from '../ir/node.js';

export function foldBatchNorm(graph: Graph): number {
  let folded = 0;
  for (const bn of [...graph.nodes]) {
    if (bn.opType !== 'BatchNormalization' || bn.output.filter(Boolean).length > 1 || attrInt(bn, 'training_mode', 0)) continue;
    const x = bn.input[0]!;
    const producer = graph.producer(x);
    if (!producer || !['Conv', 'ConvTranspose', 'Gemm'].includes(producer.opType)) continue;
    if (graph.consumers(x).length !== 1 || graph.isGraphOutput(x)) continue;
    const params = bn.input.slice(1, 5).map((n) => graph.constant(n));
    const weight = graph.constant(producer.input[1]!);
    const oldBias = producer.input[2] ? graph.constant(producer.input[2]) : undefined;
    if (params.some((p) => !p) || !weight || (producer.input[2] && !oldBias)) continue;
    const [gamma, beta, mean, variance] = params.map((p) => readFloat32(p!)) as Float32Array[];
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const channels = gamma!.length;
    const k = new Float64Array(channels);
    for (let c = 0; c < channels; c++) k[c] = gamma![c]! / Math.sqrt(variance![c]! + eps);

    const wDims = tensorDims(weight);
    const w = Float32Array.from(readFloat32(weight));
    if (!scaleOutputChannels(producer, w, wDims, k)) continue;
    const b = oldBias ? readFloat32(oldBias) : new Float32Array(channels);
    if (b.length !== channels && b.length !== 1) continue;
    const gemmBeta = producer.opType === 'Gemm' ? attrFloat(producer, 'beta', 1) : 1;
    const newBias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) newBias[c] = (gemmBeta * b[b.length === 1 ? 0 : c]! - mean![c]!) * k[c]! + beta![c]!;

    const wName = graph.uniqueName(`${producer.input[1]}_bnfolded`);
    const bName = graph.uniqueName(`${producer.name || producer.output[0]}_bias_bnfolded`);
    graph.addInitializer(floatTensor(wName, wDims, w));
    graph.addInitializer(floatTensor(bName, [channels], newBias));
    producer.input[1] = wName;
    if (producer.input.length < 3) producer.input.push(bName);
    else producer.input[2] = bName;
    if (producer.opType === 'Gemm') setAttr(producer, 'beta', 1.0, 'float');
    // The BN's output name lives on: the producer now writes it directly.
    const y = bn.output[0]!;
    graph.removeNode(bn);
    producer.output[0] = y;
    graph.invalidate();
    folded++;
  }
  if (folded) graph.removeUnused();
  return folded;
}

/** Multiplies each output channel of the weight by k[c]; false when the layout is not understood. */
function scaleOutputChannels(node: NodeProto, w: Float32Array, dims: number[], k: Float64Array): boolean {
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
