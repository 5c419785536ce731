/**
 * Folds Reshape and Transpose of a constant float tensor into a new constant. Some exporters store a
 * weight in one layout and reshape it in the graph (the ONNX zoo's MNIST feeds its MatMul through
 * Reshape(constant)); folded, the weight is a constant its consumer can be quantized with.
 * Graph outputs keep their producers, so no output name changes.
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrInt, attrInts, isStandard } from '../ir/node.js';
import { DT } from '../onnx/dtype.js';
import { floatTensor, numel, readFloat32, readInts, tensorDims } from '../onnx/tensor.js';

export function foldConstantReshapes(graph: Graph): number {
  let folded = 0;
  for (const node of [...graph.nodes]) {
    if (!isStandard(node) || (node.opType !== 'Reshape' && node.opType !== 'Transpose')) continue;
    const out = node.output[0]!;
    const source = graph.constant(node.input[0]!);
    if (!source || source.dataType !== DT.FLOAT || graph.isGraphOutput(out)) continue;
    const result = node.opType === 'Reshape' ? reshape(graph, node, source) : transpose(node, source);
    if (!result) continue;
    graph.removeNode(node);
    graph.addInitializer(floatTensor(out, result.dims, result.data));
    folded++;
  }
  return folded;
}

/** Reshape's target: the `shape` input (opset 5+) or attribute (before), with 0 = keep (unless allowzero) and −1 = infer. */
function reshape(graph: Graph, node: NodeProto, source: TensorProto): { dims: number[]; data: Float32Array } | undefined {
  const shapeTensor = node.input[1] ? graph.constant(node.input[1]) : undefined;
  const target = shapeTensor ? readInts(shapeTensor) : attrInts(node, 'shape');
  if (!target) return undefined;
  const dims = tensorDims(source);
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? dims[i]! : d));
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    const known = out.reduce((a, d, i) => (i === inferred ? a : a * d), 1);
    if (known === 0) return undefined;
    out[inferred] = numel(dims) / known;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== numel(dims)) return undefined;
  return { dims: out, data: readFloat32(source) };
}

function transpose(node: NodeProto, source: TensorProto): { dims: number[]; data: Float32Array } {
  const dims = tensorDims(source);
  const rank = dims.length;
  const perm = attrInts(node, 'perm') ?? dims.map((_, i) => rank - 1 - i);
  const outDims = perm.map((p) => dims[p]!);
  const inStrides = strides(dims);
  const outStrides = strides(outDims);
  const data = readFloat32(source);
  const result = new Float32Array(data.length);
  for (let o = 0; o < data.length; o++) {
    let rest = o;
    let i = 0;
    for (let k = 0; k < rank; k++) {
      const idx = Math.floor(rest / outStrides[k]!);
      rest -= idx * outStrides[k]!;
      i += idx * inStrides[perm[k]!]!;
    }
    result[o] = data[i]!;
  }
  return { dims: outDims, data: result };
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let k = dims.length - 2; k >= 0; k--) s[k] = s[k + 1]! * dims[k + 1]!;
  return s;
}
