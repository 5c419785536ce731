/**
 * The backward rules, one per op type (each in its own file under backward/), as a table in the
 * spirit of plan/rules.ts: an op missing here cannot be trained through, and building a training
 * graph that needs it fails before any training with the op and the node named.
 */
import type { NodeProto } from 'onnx-buf';
import { isStandard } from '../ir/node.js';
import { add } from './backward/add.js';
import { averagePool } from './backward/average-pool.js';
import { batchNormalization } from './backward/batch-normalization.js';
import { clip } from './backward/clip.js';
import { concat } from './backward/concat.js';
import { conv } from './backward/conv.js';
import { div } from './backward/div.js';
import { fakeQuantize, isFakeQuant } from './backward/fake-quantize.js';
import { gelu } from './backward/gelu.js';
import { gemm } from './backward/gemm.js';
import { globalAveragePool } from './backward/global-average-pool.js';
import { hardSigmoid } from './backward/hard-sigmoid.js';
import { hardSwish } from './backward/hard-swish.js';
import { identity } from './backward/identity.js';
import { layerNormalization } from './backward/layer-normalization.js';
import { leakyRelu } from './backward/leaky-relu.js';
import { matmul } from './backward/matmul.js';
import { maxPool } from './backward/max-pool.js';
import { mul } from './backward/mul.js';
import { pad } from './backward/pad.js';
import { reduceMean } from './backward/reduce-mean.js';
import { relu } from './backward/relu.js';
import { reshape } from './backward/reshape.js';
import { convTranspose } from './backward/conv-transpose.js';
import { resize } from './backward/resize.js';
import { sqrt } from './backward/sqrt.js';
import { exp } from './backward/exp.js';
import { log } from './backward/log.js';
import { neg } from './backward/neg.js';
import { reciprocal } from './backward/reciprocal.js';
import { erf } from './backward/erf.js';
import { pow } from './backward/pow.js';
import type { BackwardRule } from './backward/rule.js';
import { sigmoid } from './backward/sigmoid.js';
import { slice } from './backward/slice.js';
import { softmax } from './backward/softmax.js';
import { split } from './backward/split.js';
import { sub } from './backward/sub.js';
import { tanh } from './backward/tanh.js';
import { transpose } from './backward/transpose.js';

export const BACKWARD: Readonly<Record<string, BackwardRule>> = {
  Add: add,
  AveragePool: averagePool,
  BatchNormalization: batchNormalization,
  Clip: clip,
  Concat: concat,
  Conv: conv,
  ConvTranspose: convTranspose,
  Div: div,
  Dropout: identity, // inference form: Y = X (a mask output, if any, carries no gradient)
  Erf: erf,
  Exp: exp,
  Flatten: reshape,
  Gelu: gelu,
  Gemm: gemm,
  GlobalAveragePool: globalAveragePool,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Identity: identity,
  LayerNormalization: layerNormalization,
  LeakyRelu: leakyRelu,
  Log: log,
  MatMul: matmul,
  MaxPool: maxPool,
  Mul: mul,
  Neg: neg,
  Pad: pad,
  Pow: pow,
  Reciprocal: reciprocal,
  ReduceMean: reduceMean,
  Relu: relu,
  Reshape: reshape,
  Resize: resize,
  Sigmoid: sigmoid,
  Slice: slice,
  Softmax: softmax,
  Split: split,
  Sqrt: sqrt,
  Squeeze: reshape,
  Sub: sub,
  Tanh: tanh,
  Transpose: transpose,
  Unsqueeze: reshape,
};

/** The rule for a node, or undefined when onnxq cannot differentiate it. */
export function backwardRule(node: NodeProto): BackwardRule | undefined {
  if (isFakeQuant(node)) return fakeQuantize;
  return isStandard(node) && Object.hasOwn(BACKWARD, node.opType) ? BACKWARD[node.opType] : undefined;
}
