/**
 * Element types of node outputs from the types of their inputs and their attributes, as the ONNX
 * operator schemas define them: enough to tell which values of a model without value_info (PaddleOCR's
 * exports have none) are float32. Unknown ops are taken to return their first input's type.
 */
import type { NodeProto } from 'onnx-buf';
import { normalDomain } from './model.js';
import { attrInt, attrTensor, constantNodeValue, getAttr, isStandard } from './node.js';
import { DT } from '../onnx/dtype.js';

/** An ONNX element type, or undefined when unknown or not a tensor. */
export type Elem = number | undefined;

const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'RegexFullMatch']);
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression', 'SequenceLength']);
/** Ops whose `dtype`-like attribute sets the output type, with the type used when it is absent (undefined: the input's). */
export const DTYPE_OUT: Record<string, [attr: string, fallback: number | undefined]> = {
  EyeLike: ['dtype', undefined],
  RandomNormal: ['dtype', DT.FLOAT],
  RandomUniform: ['dtype', DT.FLOAT],
  RandomNormalLike: ['dtype', undefined],
  RandomUniformLike: ['dtype', undefined],
  Bernoulli: ['dtype', undefined],
  Multinomial: ['dtype', DT.INT32],
  SequenceEmpty: ['dtype', DT.FLOAT],
  HannWindow: ['output_datatype', DT.FLOAT],
  HammingWindow: ['output_datatype', DT.FLOAT],
  BlackmanWindow: ['output_datatype', DT.FLOAT],
  MelWeightMatrix: ['output_datatype', DT.FLOAT],
};

/**
 * Output element types of `node` given its inputs' (`ins`) and, for If/Loop/Scan, its subgraphs' output
 * types (`subOuts`, in attribute order). One entry per output; undefined where unknown.
 */
export function outputTypes(node: NodeProto, ins: Elem[], subOuts: Elem[][]): Elem[] {
  const n = node.output.length;
  const all = (t: Elem): Elem[] => Array(n).fill(t);
  const d = normalDomain(node.domain);
  if (d === 'ai.onnx.ml') return mlTypes(node, ins);
  if (d !== '') return all(ins[0]);
  const op = node.opType;
  if (BOOL_OUT.has(op)) return all(DT.BOOL);
  if (INT64_OUT.has(op)) return all(DT.INT64);
  const dtype = DTYPE_OUT[op];
  if (dtype) return all(attrInt(node, dtype[0]) ?? dtype[1] ?? ins[0]);
  switch (op) {
    case 'Constant':
      return [constantNodeValue(node)?.dataType ?? (getAttr(node, 'value_string') || getAttr(node, 'value_strings') ? DT.STRING : undefined)];
    case 'Cast':
      return [attrInt(node, 'to')];
    case 'CastLike':
      return [ins[1]];
    case 'ConstantOfShape':
      return [attrTensor(node, 'value')?.dataType ?? DT.FLOAT];
    case 'Where':
      return [ins[1]];
    case 'OneHot':
      return [ins[2]];
    case 'TopK':
    case 'MaxPool':
      return [ins[0], DT.INT64];
    case 'Unique':
      return [ins[0], DT.INT64, DT.INT64, DT.INT64];
    case 'Dropout':
      return [ins[0], DT.BOOL];
    case 'LayerNormalization':
      return [ins[0], DT.FLOAT, DT.FLOAT]; // mean and 1/σ in stash_type (float32)
    case 'DequantizeLinear':
      return [ins[1]];
    case 'QuantizeLinear':
      return [attrInt(node, 'output_dtype') || ins[2] || DT.UINT8];
    case 'DynamicQuantizeLinear':
      return [DT.UINT8, DT.FLOAT, DT.UINT8];
    case 'MatMulInteger':
    case 'ConvInteger':
      return [DT.INT32];
    case 'QLinearConv':
    case 'QLinearMatMul':
      return [ins[7]];
    case 'ImageDecoder':
      return [DT.UINT8];
    case 'StringNormalizer':
    case 'StringConcat':
      return [DT.STRING];
    case 'StringSplit':
      return [DT.STRING, DT.INT64];
    case 'If':
      return subOuts[0] ?? all(undefined);
    case 'Loop':
      return (subOuts[0] ?? []).slice(1);
    case 'Scan':
      return subOuts[0] ?? all(undefined);
    default:
      return all(ins[0]);
  }
}

/** Types of a subgraph's inputs when its value_info leaves them out. */
export function subgraphInputTypes(node: NodeProto, ins: Elem[], opset: number): Elem[] {
  if (!isStandard(node)) return [];
  if (node.opType === 'Loop') return [DT.INT64, DT.BOOL, ...ins.slice(2)];
  if (node.opType === 'Scan') return opset >= 9 ? ins : ins.slice(1);
  return [];
}

function mlTypes(node: NodeProto, ins: Elem[]): Elem[] {
  switch (node.opType) {
    case 'LinearClassifier':
    case 'SVMClassifier':
    case 'TreeEnsembleClassifier':
      return [getAttr(node, 'classlabels_strings') ? DT.STRING : DT.INT64, DT.FLOAT];
    case 'ArrayFeatureExtractor':
    case 'Binarizer':
    case 'Imputer':
      return [ins[0]];
    case 'ZipMap':
    case 'CastMap':
    case 'DictVectorizer':
    case 'CategoryMapper':
    case 'LabelEncoder':
      return node.output.map(() => undefined);
    default:
      return node.output.map(() => DT.FLOAT); // regressors, Normalizer, Scaler, OneHotEncoder, FeatureVectorizer
  }
}
