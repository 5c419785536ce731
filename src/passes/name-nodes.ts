/**
 * Gives every unnamed node a unique name (`<OpType>_<n>`), so that plans, `--exclude` and messages
 * can point at any node. Named nodes keep their names.
 */
import type { Graph } from '../ir/graph.js';

export function nameNodes(graph: Graph): number {
  let named = 0;
  const counters = new Map<string, number>();
  for (const node of graph.nodes) {
    if (node.name) continue;
    let n = counters.get(node.opType) ?? 0;
    let name: string;
    do name = `${node.opType}_${n++}`;
    while (graph.hasName(name));
    counters.set(node.opType, n);
    graph.setName(node, graph.uniqueName(name));
    named++;
  }
  return named;
}
