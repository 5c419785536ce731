/** Visits every TensorProto a graph holds: initializers, Constant/attribute tensors and all subgraphs. */
import type { GraphProto, NodeProto, TensorProto } from 'onnx-buf';

export type TensorVisitor = (tensor: TensorProto, where: { graph: GraphProto; node?: NodeProto }) => void;

export function forEachTensor(graph: GraphProto, visit: TensorVisitor): void {
  for (const t of graph.initializer) visit(t, { graph });
  for (const s of graph.sparseInitializer) {
    if (s.values) visit(s.values, { graph });
    if (s.indices) visit(s.indices, { graph });
  }
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t) visit(a.t, { graph, node });
      for (const t of a.tensors) visit(t, { graph, node });
      if (a.g) forEachTensor(a.g, visit);
      for (const g of a.graphs) forEachTensor(g, visit);
    }
  }
}

/** Visits a graph and every subgraph (If/Loop/Scan bodies), depth first, parents before children. */
export function forEachGraph(graph: GraphProto, visit: (g: GraphProto, depth: number) => void, depth = 0): void {
  visit(graph, depth);
  for (const node of graph.node)
    for (const a of node.attribute) {
      if (a.g) forEachGraph(a.g, visit, depth + 1);
      for (const g of a.graphs) forEachGraph(g, visit, depth + 1);
    }
}
