/**
 * Just enough inference for the adapters: a value's rank (Softmax-13 needs to know whether its axis
 * is the last one) and element type (Clip-11 and Pad-11 take constants of the input's type).
 * Sources: value_info, initializers and Constants, then a rule per producing op (element types: the
 * schemas' table in ir/elem-types.ts, which fp16 conversion reads too). Unknown is fine:
 * every adapter has a path that works without it.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr, isStandard } from '../../ir/node.js';
import { typeOf } from '../../ir/types.js';
import { numel, readInts, tensorDims } from '../../onnx/tensor.js';
import type { Scope } from '../../ir/scope.js';
import { outputTypes } from '../../ir/elem-types.js';

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


/** What is known per graph scope (null: known to be unknown). */
const ranks = new WeakMap<Scope, Map<string, number | null>>();
const types = new WeakMap<Scope, Map<string, number | null>>();

function memo(of: WeakMap<Scope, Map<string, number | null>>, scope: Scope): Map<string, number | null> {
  let m = of.get(scope);
  if (!m) of.set(scope, (m = new Map()));
  return m;
}

/** Set when an inference gave up at MAX_DEPTH: its "unknown" is not a fact to remember. */
let cutOff = false;

/** `compute()` once per name and scope; an unknown that came from the depth limit is not kept. */
function memoized(memo: Map<string, number | null>, name: string, compute: () => number | undefined): number | undefined {
  const known = memo.get(name);
  if (known !== undefined) return known ?? undefined;
  const outer = cutOff;
  cutOff = false;
  const r = compute();
  if (r !== undefined || !cutOff) memo.set(name, r ?? null);
  cutOff ||= outer;
  return r;
}

/** The node that computes `name`, when inference may look at it (a default-domain op, within the depth limit). */
function producerToRead(scope: Scope, name: string, depth: number): NodeProto | undefined {
  const p = scope.producer(name);
  if (!p || !isStandard(p)) return undefined;
  if (depth > MAX_DEPTH) {
    cutOff = true;
    return undefined;
  }
  return p;
}

export function rankOf(scope: Scope, name: string, depth = 0): number | undefined {
  return memoized(memo(ranks, scope), name, () => computeRank(scope, name, depth));
}

type Rank = (input: number) => number | undefined;

function computeRank(scope: Scope, name: string, depth: number): number | undefined {
  const shape = typeOf(scope.declared(name))?.shape;
  if (shape) return shape.length;
  const c = scope.constant(name);
  if (c) return c.dims.length;
  const p = producerToRead(scope, name, depth);
  if (!p) return undefined;
  const rank: Rank = (i) => (p.input[i] ? rankOf(scope, p.input[i]!, depth + 1) : undefined);
  const op = p.opType;
  if (SAME_RANK.has(op)) return rank(0);
  if (BROADCAST.has(op)) return broadcastRank(p, rank);
  if (REDUCE.has(op)) return reducedRank(scope, p, rank);
  return RANK_RULES[op]?.(p, rank, scope, depth);
}

/** Inputs broadcast together: the largest rank, once every input's is known. */
function broadcastRank(p: NodeProto, rank: Rank): number | undefined {
  let best = 0;
  for (let i = 0; i < p.input.length; i++) {
    const r = rank(i);
    if (r === undefined) return undefined;
    best = Math.max(best, r);
  }
  return best;
}

function reducedRank(scope: Scope, p: NodeProto, rank: Rank): number | undefined {
  if (attrInt(p, 'keepdims', 1) !== 0) return rank(0);
  const r = rank(0);
  if (r === undefined) return undefined;
  if (p.opType === 'ArgMax' || p.opType === 'ArgMin') return r - 1;
  const axes = intsOf(scope, p, 'axes', 1);
  return axes === undefined ? undefined : axes.length === 0 ? 0 : r - axes.length;
}

function matmulRank(ra: number | undefined, rb: number | undefined): number | undefined {
  if (ra === undefined || rb === undefined) return undefined;
  if (ra === 1 && rb === 1) return 0;
  if (ra === 1) return rb - 1;
  if (rb === 1) return ra - 1;
  return Math.max(ra, rb);
}

/** Rank rules of the ops whose output rank is neither their input's nor a broadcast or reduction. */
const RANK_RULES: Record<string, (p: NodeProto, rank: Rank, scope: Scope, depth: number) => number | undefined> = {
  Transpose: (p, rank) => getAttr(p, 'perm')?.ints.length || rank(0),
  MatMul: (_p, rank) => matmulRank(rank(0), rank(1)),
  MatMulInteger: (_p, rank) => matmulRank(rank(0), rank(1)),
  QLinearMatMul: (_p, rank) => matmulRank(rank(0), rank(3)),
  Gemm: () => 2,
  Flatten: () => 2,
  NonZero: () => 2,
  Shape: () => 1,
  Range: () => 1,
  Size: () => 0,
  Reshape(p, _rank, scope, depth) {
    const s = scope.constant(p.input[1] ?? '');
    if (s) return numel(tensorDims(s));
    const sp = scope.producer(p.input[1] ?? '');
    if (sp && sp.opType === 'Shape' && !getAttr(sp, 'start') && !getAttr(sp, 'end') && sp.input[0]) return rankOf(scope, sp.input[0], depth + 1);
    return undefined;
  },
  Squeeze(p, rank, scope) {
    const r = rank(0);
    const axes = intsOf(scope, p, 'axes', 1);
    return r === undefined || axes === undefined || axes.length === 0 ? undefined : r - axes.length;
  },
  Unsqueeze(p, rank, scope) {
    const r = rank(0);
    const axes = intsOf(scope, p, 'axes', 1);
    return r === undefined || axes === undefined ? undefined : r + axes.length;
  },
  Gather(_p, rank) {
    const rd = rank(0);
    const ri = rank(1);
    return rd === undefined || ri === undefined ? undefined : rd - 1 + ri;
  },
  GatherElements: (_p, rank) => rank(1),
  OneHot(_p, rank) {
    const r = rank(0);
    return r === undefined ? undefined : r + 1;
  },
  Expand(p, rank, scope) {
    const s = scope.constant(p.input[1] ?? '');
    const r = rank(0);
    return s && r !== undefined ? Math.max(r, numel(tensorDims(s))) : undefined;
  },
  ConstantOfShape(p, _rank, scope) {
    const s = scope.constant(p.input[0] ?? '');
    return s ? numel(tensorDims(s)) : undefined;
  },
};

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
  return memoized(memo(types, scope), name, () => computeType(scope, name, depth));
}

function computeType(scope: Scope, name: string, depth: number): number | undefined {
  const declared = typeOf(scope.declared(name))?.dtype;
  if (declared) return declared;
  const c = scope.constant(name);
  if (c) return c.dataType;
  const p = producerToRead(scope, name, depth);
  if (!p) return undefined;
  // The op schemas' output types (ir/elem-types.ts), from the inputs' types; subgraph outputs unknown.
  const ins = p.input.map((i) => (i ? elemTypeOf(scope, i, depth + 1) : undefined));
  return outputTypes(p, ins, [])[p.output.indexOf(name)];
}
