/**
 * Checks of the node selectors a user gives (--exclude names or op types, --op-types): an entry
 * that names nothing in the model changes nothing, and a typo must not pass without a word.
 */
import type { GraphProto } from 'onnx-buf';
import { forEachGraph } from '../onnx/walk.js';

export interface Selectors {
  exclude?: readonly string[];
  opTypes?: readonly string[];
}

/** One warning per entry that matches no node; `deep` looks inside If/Loop bodies as well. */
export function selectorWarnings(graph: GraphProto, selectors: Selectors, deep: boolean): string[] {
  const names = new Set<string>();
  const ops = new Set<string>();
  const visit = (g: GraphProto) => {
    for (const n of g.node) {
      if (n.name) names.add(n.name);
      ops.add(n.opType);
    }
  };
  if (deep) forEachGraph(graph, visit);
  else visit(graph);
  return [
    ...(selectors.exclude ?? []).filter((e) => !names.has(e) && !ops.has(e)).map((e) => `--exclude ${e}: no node has this name or op type.`),
    ...(selectors.opTypes ?? []).filter((t) => !ops.has(t)).map((t) => `--op-types ${t}: the model has no ${t} node.`),
  ];
}
