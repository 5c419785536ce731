/**
 * Gemm is Y = α·A′·B′ + β·C. The exporters that replace its product by a quantized one (dynamic's
 * MatMulInteger, weight-only's MatMulNBits) add the rest back with ordinary ops; this is the β·C part,
 * shared: one constant β·C when C is a constant, else C read at run time (times β unless β is 1).
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import type { NameSet } from '../ir/names.js';
import { attrFloat, makeNode } from '../ir/node.js';
import type { Scope } from '../ir/scope.js';
import { DT } from '../onnx/dtype.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';

/** How to add β·C to `input` to make `output`; undefined when the Gemm adds nothing. New constants go to `graph`, in `floatType`. */
export function gemmAddend(graph: Graph, scope: Scope, node: NodeProto, names: NameSet, floatType: number = DT.FLOAT): ((input: string, output: string) => NodeProto[]) | undefined {
  const c = node.input[2];
  const beta = attrFloat(node, 'beta', 1);
  if (!c || beta === 0) return undefined;
  const base = node.name || node.output[0]!;
  const add = (input: string, addend: string, output: string) => makeNode({ opType: 'Add', name: names.fresh(`${base}_bias_Add`), inputs: [input, addend], outputs: [output] });
  const constant = scope.constant(c);
  if (constant) {
    const name = names.fresh(`${base}_bias`);
    graph.addInitializer(floatTensor(name, tensorDims(constant), readFloat32(constant).map((v) => v * beta), floatType));
    return (input, output) => [add(input, name, output)];
  }
  if (beta === 1) return (input, output) => [add(input, c, output)];
  const betaName = names.fresh(`${base}_beta`);
  graph.addInitializer(floatTensor(betaName, [], [beta], floatType));
  const scaledC = names.fresh(`${base}_beta_C`);
  return (input, output) => [makeNode({ opType: 'Mul', name: names.fresh(`${base}_beta_Mul`), inputs: [c, betaName], outputs: [scaledC] }), add(input, scaledC, output)];
}
