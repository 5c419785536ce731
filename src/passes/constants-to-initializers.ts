/**
 * Turns the top-level graph's Constant nodes into initializers, so that weights have one home.
 * PaddleOCR's exports keep every weight in a Constant node and have no initializers at all.
 * Subgraph constants (If/Loop bodies) are left where they are.
 */
import type { Graph } from '../ir/graph.js';
import { constantNodeValue, isStandard } from '../ir/node.js';

export function constantsToInitializers(graph: Graph): number {
  let moved = 0;
  for (const node of [...graph.nodes]) {
    if (node.opType !== 'Constant' || !isStandard(node)) continue;
    const name = node.output[0]!;
    if (graph.isGraphOutput(name)) continue; // an initializer cannot be a graph output in every runtime
    const value = constantNodeValue(node);
    if (!value) continue; // sparse or string constants stay nodes
    value.name = name;
    graph.removeNode(node);
    graph.addInitializer(value);
    moved++;
  }
  return moved;
}
