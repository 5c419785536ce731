/**
 * What to quantize, per op type, as data (in the spirit of ORT's registry.py): which inputs carry
 * activations, which input is a weight and along which axis it is quantized per channel, which is a
 * bias, and how the output is treated. One table per target.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt } from '../ir/node.js';

export type OutputRule =
  /** The output gets its own calibrated range. */
  | 'own'
  /** The output shares the input's scale and zero point (ops that only move or select values). */
  | 'same-as-input'
  /** The output range is known in advance (Softmax: [0, 1]). */
  | { fixed: [number, number] }
  /** The output is not quantized by this op. */
  | 'none';

export interface OpRule {
  /**
   * Inputs holding activations (or constants quantized like activations): indices, every input, or
   * 'residual': of an Add of two activations, the one that does not come from a weighted layer (Conv,
   * ConvTranspose, Gemm, MatMul) — TensorRT fuses the Add into that layer and wants the other input,
   * the skip connection, quantized; when both come from weighted layers, the second.
   */
  activations: number[] | 'all' | 'residual';
  /** Input holding a weight; quantized per channel along `axis` when the weight is constant. */
  weight?: { input: number; axis: (node: NodeProto, rank: number) => number | undefined };
  /** Input holding a bias, stored as int32 with scale s_input·s_weight. */
  bias?: { input: number };
  output: OutputRule;
  /** A Relu/Clip that can be folded into its producer's output range and removed. */
  foldable?: boolean;
  /**
   * Quantize only when an input is already quantized. Elementwise and data-movement ops between
   * float ops gain no integer kernel and only add error (a LayerNorm's Add(variance, ε) quantized
   * to 8 bits, say), so they follow their neighbours rather than lead.
   */
  followsQuantized?: boolean;
}

const conv: OpRule = { activations: [0], weight: { input: 1, axis: () => 0 }, bias: { input: 2 }, output: 'own' };
const convTranspose: OpRule = {
  activations: [0],
  // Output channels are axis 1 of [C_in, C_out/group, k…]; with groups, one axis-1 scale would serve several channels.
  weight: { input: 1, axis: (n) => (attrInt(n, 'group', 1) === 1 ? 1 : undefined) },
  bias: { input: 2 },
  output: 'own',
};
const gemm: OpRule = {
  activations: [0],
  weight: { input: 1, axis: (n) => (attrInt(n, 'transB', 0) ? 0 : 1) },
  bias: { input: 2 },
  output: 'own',
};
const matmul: OpRule = { activations: [0], weight: { input: 1, axis: (_n, rank) => (rank === 2 ? 1 : undefined) }, output: 'own' };
const move: OpRule = { activations: [0], output: 'same-as-input', followsQuantized: true };
const unary: OpRule = { activations: [0], output: 'own', followsQuantized: true };
const binary: OpRule = { activations: [0, 1], output: 'own', followsQuantized: true };
const fold: OpRule = { activations: [], output: 'none', foldable: true };

/** ONNX Runtime QDQ (the default): what ORT's quantizer quantizes, placed so that ORT fuses it. */
export const ORT_QDQ_RULES: Record<string, OpRule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmul,
  Add: binary,
  Mul: binary,
  Concat: { activations: 'all', output: 'own', followsQuantized: true },
  AveragePool: unary,
  GlobalAveragePool: unary,
  Sigmoid: unary,
  HardSigmoid: unary,
  // HardSwish is left float: onnxruntime has no 8-bit kernel for it (it runs DQ → HardSwish → Q), and
  // a requantized hard-swish output costs PaddleOCR's recognizer 15 points of exact lines for no speed.
  LeakyRelu: unary,
  Softmax: { activations: [0], output: { fixed: [0, 1] }, followsQuantized: true },
  Relu: fold,
  Clip: fold,
  MaxPool: move,
  Reshape: move,
  Transpose: move,
  Flatten: move,
  Squeeze: move,
  Unsqueeze: move,
  Slice: move,
  Pad: move,
  Resize: move,
  Split: move,
  Gather: move,
};

/**
 * TensorRT explicit quantization (developer guide, "Explicit Quantization"): Q/DQ on the inputs of
 * Conv, ConvTranspose, Gemm and MatMul and on residual Add inputs, never on outputs.
 */
export const TENSORRT_RULES: Record<string, OpRule> = {
  Conv: { ...conv, bias: undefined, output: 'none' },
  ConvTranspose: { ...convTranspose, bias: undefined, output: 'none' },
  Gemm: { ...gemm, bias: undefined, output: 'none' },
  MatMul: { ...matmul, output: 'none' },
  Add: { activations: 'residual', output: 'none' },
};

/**
 * The modes without calibration (dynamic, weight-only) as data too: per op type with a constant weight,
 * which input holds it and what the node becomes, or why it stays float. An op type not listed is left
 * as it is without a word; a listed float rule is reported where the node has a constant weight.
 */
export type WeightRule = { weight: number; becomes: string } | { float: string };

const RECURRENT: WeightRule = { float: 'recurrent op: onnxq leaves LSTM, GRU and RNN float in every mode' };

/** Dynamic quantization (ORT's quantize_dynamic: IntegerOps): activations quantized at run time. */
export const DYNAMIC_RULES: Readonly<Record<string, WeightRule>> = {
  MatMul: { weight: 1, becomes: 'MatMulInteger' },
  Gemm: { weight: 1, becomes: 'MatMulInteger' },
  Conv: { weight: 1, becomes: 'ConvInteger' },
  ConvTranspose: { float: 'onnxruntime has no integer ConvTranspose to run it dynamically (static mode quantizes it)' },
  LSTM: RECURRENT,
  GRU: RECURRENT,
  RNN: RECURRENT,
};

/** Weight-only quantization (ORT's MatMulNBits quantizer): blocks of 4 or 8 bits, activations float. */
export const WEIGHT_ONLY_RULES: Readonly<Record<string, WeightRule>> = {
  MatMul: { weight: 1, becomes: 'MatMulNBits' },
  Gemm: { weight: 1, becomes: 'MatMulNBits' },
  // Embedding tables, with --quantize-embeddings.
  Gather: { weight: 0, becomes: 'GatherBlockQuantized' },
  Conv: { float: 'weight-only quantization has no rule for Conv (use --mode dynamic or static)' },
  ConvTranspose: { float: 'weight-only quantization has no rule for ConvTranspose (use --mode static)' },
  Einsum: { float: 'weight-only quantization has no rule for Einsum (use --mode dynamic or static)' },
  LSTM: RECURRENT,
  GRU: RECURRENT,
  RNN: RECURRENT,
};

/** The op types a table quantizes. */
export function quantizedOps(rules: Readonly<Record<string, WeightRule>>): string[] {
  return Object.keys(rules).filter((op) => 'weight' in rules[op]!);
}
