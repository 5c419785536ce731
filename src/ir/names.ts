/**
 * The names a model uses, and fresh ones. ONNX gives a model one namespace for values, and a subgraph
 * (an If/Loop/Scan body) may not reuse a name its enclosing graphs define, so a pass that adds values
 * or nodes anywhere asks one NameSet for the whole model. Names handed out stay taken, even before
 * the graph uses them and after it stops: a name is never given twice.
 */
import type { GraphProto } from 'onnx-buf';
import { forEachGraph } from '../onnx/walk.js';

export class NameSet {
  private readonly used = new Set<string>();
  /** Per base, the suffix to try next: names are never released, so those before it stay taken. */
  private readonly next = new Map<string, number>();

  /** Every value, initializer and node name in `graph` and the subgraphs it holds. */
  static of(graph: GraphProto): NameSet {
    const names = new NameSet();
    forEachGraph(graph, (g) => {
      for (const v of g.input) names.add(v.name);
      for (const v of g.output) names.add(v.name);
      for (const v of g.valueInfo) names.add(v.name);
      for (const t of g.initializer) names.add(t.name);
      for (const n of g.node) {
        names.add(n.name);
        for (const o of n.output) names.add(o);
      }
    });
    return names;
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  add(name: string): void {
    if (name) this.used.add(name);
  }

  /** `base` if no one uses it, else the first of `base_1`, `base_2`, … that no one does; taken from now on. */
  fresh(base: string): string {
    let name = base;
    let i = this.next.get(base) ?? 1;
    if (this.used.has(name)) for (name = `${base}_${i}`; this.used.has(name); ) name = `${base}_${++i}`;
    this.next.set(base, i);
    this.used.add(name);
    return name;
  }
}
