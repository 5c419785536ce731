/**
 * Just enough inference for the adapters: a value's rank (Softmax-13 needs to know whether its axis
 * is the last one) and element type (Clip-11 and Pad-11 take constants of the input's type).
 * Sources: value_info, initializers and Constants, then a rule per producing op. Unknown is fine:
 * every adapter has a path that works without it.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr, isStandard } from '../../ir/node.js';
import { typeOf } from '../../ir/types.js';
import { DT } from '../../onnx/dtype.js';
import { numel, readInts, tensorDims } from '../../onnx/tensor.js';
import type { Scope } from './context.js';

/** Deep enough for any real network; beyond it the answer is "unknown", never a stack overflow. */
const MAX_DEPTH = 1000;

/** Ops whose first output has the rank of their first input. */
const SAME_RANK = new Set(
  (
    'Abs Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Bernoulli BitwiseNot Cast CastLike Ceil Celu ' +
    'Clip Concat Conv ConvInteger ConvTranspose Cos Cosh CumSum DepthToSpace DequantizeLinear Dropout Elu Erf Exp ' +
    'EyeLike Floor Gelu GlobalAveragePool GlobalLpPool GlobalMaxPool GroupNormalization HardSigmoid HardSwish Hardmax ' +
    'Identity InstanceNormalization IsInf IsNaN LRN LayerNormalization LeakyRelu Log LogSoftmax LpNormalization LpPool ' +
    'MaxPool MaxUnpool MeanVarianceNormalization Mish Neg Not PRelu Pad QLinearConv QuantizeLinear RandomNormalLike ' +
    'RandomUniformLike Reciprocal Relu Resize ReverseSequence Round Scatter ScatterElements ScatterND Selu Shrink ' +
    'Sigmoid Sign Sin Sinh Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Tan Tanh ThresholdedRelu Tile TopK ' +
    'Trilu Upsample'
  ).split(' '),
);

/** Ops that broadcast all their inputs together (numpy style). */
const BROADCAST = new Set(
  (
    'Add And BitShift BitwiseAnd BitwiseOr BitwiseXor Div Equal Greater GreaterOrEqual Less LessOrEqual Max Mean Min ' +
    'Mod Mul Or Pow Sub Sum Where Xor'
  ).split(' '),
);

const REDUCE = new Set(
  'ArgMax ArgMin ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare'.split(
    ' ',
  ),
);

const BOOL_OUT = new Set('And Equal Greater GreaterOrEqual IsInf IsNaN Less LessOrEqual Not Or Xor'.split(' '));
const INT64_OUT = new Set('ArgMax ArgMin NonMaxSuppression NonZero Shape Size'.split(' '));

export function rankOf(scope: Scope, name: string, depth = 0): number | undefined {
  const memo = scope.rankMemo.get(name);
  if (memo !== undefined) return memo ?? undefined;
  const r = computeRank(scope, name, depth);
  if (r !== undefined || depth === 0) scope.rankMemo.set(name, r ?? null);
  return r;
}

function computeRank(scope: Scope, name: string, depth: number): number | undefined {
  const shape = typeOf(scope.valueInfo(name))?.shape;
  if (shape) return shape.length;
  const c = scope.constant(name);
  if (c) return c.dims.length;
  const p = scope.producer(name);
  if (!p || depth > MAX_DEPTH || !isStandard(p)) return undefined;
  const rank = (i: number) => (p.input[i] ? rankOf(scope, p.input[i]!, depth + 1) : undefined);
  const op = p.opType;
  if (SAME_RANK.has(op)) return rank(0);
  if (BROADCAST.has(op)) {
    let best = 0;
    for (let i = 0; i < p.input.length; i++) {
      const r = rank(i);
      if (r === undefined) return undefined;
      best = Math.max(best, r);
    }
    return best;
  }
  if (REDUCE.has(op)) {
    if (attrInt(p, 'keepdims', 1) !== 0) return rank(0);
    const r = rank(0);
    if (r === undefined) return undefined;
    if (op === 'ArgMax' || op === 'ArgMin') return r - 1;
    const axes = intsOf(scope, p, 'axes', 1);
    return axes === undefined ? undefined : axes.length === 0 ? 0 : r - axes.length;
  }
  switch (op) {
    case 'Transpose':
      return getAttr(p, 'perm')?.ints.length || rank(0);
    case 'MatMul':
    case 'MatMulInteger':
    case 'QLinearMatMul': {
      const b = op === 'QLinearMatMul' ? 3 : 1;
      const ra = rank(0);
      const rb = rank(b);
      if (ra === undefined || rb === undefined) return undefined;
      if (ra === 1 && rb === 1) return 0;
      if (ra === 1) return rb - 1;
      if (rb === 1) return ra - 1;
      return Math.max(ra, rb);
    }
    case 'Gemm':
    case 'Flatten':
    case 'NonZero':
      return 2;
    case 'Shape':
    case 'Range':
      return 1;
    case 'Size':
      return 0;
    case 'Reshape': {
      const s = scope.constant(p.input[1] ?? '');
      if (s) return numel(tensorDims(s));
      const sp = scope.producer(p.input[1] ?? '');
      if (sp && sp.opType === 'Shape' && !getAttr(sp, 'start') && !getAttr(sp, 'end') && sp.input[0])
        return rankOf(scope, sp.input[0], depth + 1);
      return undefined;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const r = rank(0);
      const axes = intsOf(scope, p, 'axes', 1);
      if (r === undefined || axes === undefined) return undefined;
      if (op === 'Unsqueeze') return r + axes.length;
      return axes.length ? r - axes.length : undefined;
    }
    case 'Gather': {
      const rd = rank(0);
      const ri = rank(1);
      return rd === undefined || ri === undefined ? undefined : rd - 1 + ri;
    }
    case 'GatherElements':
      return rank(1);
    case 'OneHot': {
      const r = rank(0);
      return r === undefined ? undefined : r + 1;
    }
    case 'Expand': {
      const s = scope.constant(p.input[1] ?? '');
      const r = rank(0);
      return s && r !== undefined ? Math.max(r, numel(tensorDims(s))) : undefined;
    }
    case 'ConstantOfShape': {
      const s = scope.constant(p.input[0] ?? '');
      return s ? numel(tensorDims(s)) : undefined;
    }
  }
  return undefined;
}

/** An int list given as an attribute (older forms) or as a constant input (newer forms). */
function intsOf(scope: Scope, node: NodeProto, attr: string, input: number): number[] | undefined {
  const a = attrInts(node, attr);
  if (a) return a;
  const name = node.input[input];
  if (!name) return [];
  const t = scope.constant(name);
  return t ? readInts(t) : undefined;
}

export function elemTypeOf(scope: Scope, name: string, depth = 0): number | undefined {
  const memo = scope.typeMemo.get(name);
  if (memo !== undefined) return memo ?? undefined;
  const t = computeType(scope, name, depth);
  if (t !== undefined || depth === 0) scope.typeMemo.set(name, t ?? null);
  return t;
}

function computeType(scope: Scope, name: string, depth: number): number | undefined {
  const declared = typeOf(scope.valueInfo(name))?.dtype;
  if (declared) return declared;
  const c = scope.constant(name);
  if (c) return c.dataType;
  const p = scope.producer(name);
  if (!p || depth > MAX_DEPTH || !isStandard(p)) return undefined;
  const type = (i: number) => (p.input[i] ? elemTypeOf(scope, p.input[i]!, depth + 1) : undefined);
  const index = p.output.indexOf(name);
  const op = p.opType;
  if (BOOL_OUT.has(op)) return DT.BOOL;
  if (INT64_OUT.has(op)) return DT.INT64;
  switch (op) {
    case 'Cast':
      return attrInt(p, 'to');
    case 'CastLike':
      return type(1);
    case 'Where':
      return type(1);
    case 'QuantizeLinear':
      return p.input[2] ? type(2) : DT.UINT8;
    case 'DequantizeLinear':
      return type(1);
    case 'DynamicQuantizeLinear':
      return index === 1 ? DT.FLOAT : DT.UINT8;
    case 'MatMulInteger':
    case 'ConvInteger':
      return DT.INT32;
    case 'QLinearConv':
    case 'QLinearMatMul':
      return type(7);
    case 'TopK':
    case 'MaxPool':
      return index === 1 ? DT.INT64 : type(0);
    case 'Dropout':
      return index === 1 ? DT.BOOL : type(0);
    case 'ConstantOfShape':
      return getAttr(p, 'value')?.t?.dataType ?? DT.FLOAT;
    case 'RandomNormal':
    case 'RandomUniform':
      return attrInt(p, 'dtype', DT.FLOAT);
    case 'RandomNormalLike':
    case 'RandomUniformLike':
    case 'EyeLike':
      return attrInt(p, 'dtype') ?? type(0);
    case 'Multinomial':
      return attrInt(p, 'dtype', DT.INT32);
  }
  return type(0);
}
