/**
 * Folds an inference BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it:
 * with k = γ/√(σ² + ε), W' = W·k per output channel and b' = (b − μ)·k + β (Jacob et al. 2018,
 * "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", §3.2).
 * Quantizing the folded weights is what the integer kernels run, so ranges are measured after this.
 */
import { readFloat32, tensorDims } from '../onnx/tensor.js';
import { scaleOutputChannels, setConstantInput } from './weights.js';
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
    // A BatchNormalization short of its four parameters, or with parameters of unequal lengths, is not
    // one to fold: it stays, and onnxruntime says what is wrong with it.
    if (params.length < 4 || params.some((p) => !p) || !weight || (producer.input[2] && !oldBias)) continue;
    const [gamma, beta, mean, variance] = params.map((p) => readFloat32(p!)) as Float32Array[];
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const channels = gamma!.length;
    if (beta!.length !== channels || mean!.length !== channels || variance!.length !== channels) continue;
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

    setConstantInput(graph, producer, 1, `${producer.input[1]}_bnfolded`, wDims, w);
    setConstantInput(graph, producer, 2, `${producer.name || producer.output[0]}_bias_bnfolded`, [channels], newBias);
    if (producer.opType === 'Gemm') setAttr(producer, 'beta', 1.0, 'float');
    // The BN's output name lives on: the producer now writes it directly.
    const y = bn.output[0]!;
    graph.removeNode(bn);
    graph.setOutput(producer, 0, y);
    folded++;
  }
  if (folded) graph.removeUnused();
  return folded;
}
