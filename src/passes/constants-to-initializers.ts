/**
 * Turns the top-level graph's Constant nodes into initializers, so that weights have one home.
 * PaddleOCR's exports keep every weight in a Constant node and have no initializers at all.
 * Subgraph constants (If/Loop bodies) are left where they are.
 */
import { floatTensor, int64Tensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { attrFloat, attrFloats, attrInt, attrInts, attrTensor } from '../ir/node.js';
import type { TensorProto } from 'onnx-buf';

export function constantsToInitializers(graph: Graph): number {
  let moved = 0;
  for (const node of [...graph.nodes]) {
    if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const name = node.output[0]!;
    if (graph.isGraphOutput(name)) continue; // an initializer cannot be a graph output in every runtime
    const value = constantValue(node, name);
    if (!value) continue; // sparse or string constants stay nodes
    graph.removeNode(node);
    graph.addInitializer(value);
    moved++;
  }
  return moved;
}

function constantValue(node: Parameters<typeof attrTensor>[0], name: string): TensorProto | undefined {
  const t = attrTensor(node, 'value');
  if (t) {
    t.name = name;
    return t;
  }
  const f = attrFloat(node, 'value_float');
  if (f !== undefined) return floatTensor(name, [], [f]);
  const fs = attrFloats(node, 'value_floats');
  if (fs) return floatTensor(name, [fs.length], fs);
  const i = attrInt(node, 'value_int');
  if (i !== undefined) return int64Tensor(name, [], [i]);
  const is = attrInts(node, 'value_ints');
  if (is) return int64Tensor(name, [is.length], is);
  return undefined; // strings and sparse values stay Constant nodes
}
