/**
 * Graph: a thin index over an ONNX GraphProto. Nodes stay NodeProto objects, so everything the
 * file holds that onnxq does not touch (unknown fields, other domains, metadata) survives a save.
 * Producer/consumer maps are rebuilt lazily after edits.
 */
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { constantNodeValue, describeNode } from './node.js';

export class Graph {
  readonly proto: GraphProto;
  private producers?: Map<string, NodeProto>;
  private users?: Map<string, NodeProto[]>;
  private inits?: Map<string, TensorProto>;
  private names?: Set<string>;
  /** Names handed out by uniqueName(): kept across edits, which may not have put them in the graph yet. */
  private readonly reserved = new Set<string>();

  constructor(proto: GraphProto) {
    this.proto = proto;
  }

  get nodes(): NodeProto[] {
    return this.proto.node;
  }

  /** Call after editing `proto` directly; the Graph's own edit methods do it themselves. */
  invalidate(): void {
    this.producers = this.users = this.inits = this.names = undefined;
  }

  private index(): void {
    if (this.producers) return;
    this.producers = new Map();
    this.users = new Map();
    this.inits = new Map(this.proto.initializer.map((t) => [t.name, t]));
    this.names = new Set();
    for (const v of [...this.proto.input, ...this.proto.output, ...this.proto.valueInfo]) this.names.add(v.name);
    for (const t of this.proto.initializer) this.names.add(t.name);
    for (const n of this.proto.node) {
      if (n.name) this.names.add(n.name);
      for (const o of n.output) {
        if (o) this.producers.set(o, n);
        this.names.add(o);
      }
      const seen = new Set<string>();
      for (const i of [...n.input, ...subgraphOuterInputs(n)]) {
        if (!i || seen.has(i)) continue;
        seen.add(i);
        let list = this.users.get(i);
        if (!list) this.users.set(i, (list = []));
        list.push(n);
      }
    }
  }

  producer(name: string): NodeProto | undefined {
    this.index();
    return this.producers!.get(name);
  }

  /** Nodes that read `name`, including nodes whose subgraphs read it from the outer scope. */
  consumers(name: string): NodeProto[] {
    this.index();
    return this.users!.get(name) ?? [];
  }

  initializer(name: string): TensorProto | undefined {
    this.index();
    return this.inits!.get(name);
  }

  /** A value known when the model is built: an initializer or the output of a Constant node. */
  constant(name: string): TensorProto | undefined {
    const init = this.initializer(name);
    if (init) return this.isGraphInput(name) ? undefined : init; // an input may override its initializer
    const p = this.producer(name);
    return p && p.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx') ? constantNodeValue(p) : undefined;
  }

  isGraphInput(name: string): boolean {
    return this.proto.input.some((v) => v.name === name);
  }

  isGraphOutput(name: string): boolean {
    return this.proto.output.some((v) => v.name === name);
  }

  /** Inputs a user feeds: graph inputs that are not initializers (old exports list weights as inputs too). */
  get inputs(): ValueInfoProto[] {
    this.index();
    return this.proto.input.filter((v) => !this.inits!.has(v.name));
  }

  get outputs(): ValueInfoProto[] {
    return this.proto.output;
  }

  hasName(name: string): boolean {
    this.index();
    return this.names!.has(name) || this.reserved.has(name);
  }

  /** A value or node name not yet used in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.hasName(name); i++) name = `${base}_${i}`;
    this.reserved.add(name);
    return name;
  }

  addInitializer(t: TensorProto): void {
    this.proto.initializer = this.proto.initializer.filter((x) => x.name !== t.name);
    this.proto.initializer.push(t);
    this.invalidate();
  }

  /** Removes an initializer and its entry among the graph inputs (where old exports list it). */
  removeInitializer(name: string): void {
    this.proto.initializer = this.proto.initializer.filter((x) => x.name !== name);
    this.proto.input = this.proto.input.filter((x) => x.name !== name);
    this.proto.valueInfo = this.proto.valueInfo.filter((x) => x.name !== name);
    this.invalidate();
  }

  /** Inserts nodes right after `after` (or at the start); topological order is restored by `sort()`. */
  insertNodes(nodes: NodeProto[], after?: NodeProto): void {
    const at = after ? this.proto.node.indexOf(after) + 1 : 0;
    if (at === 0 && after) throw new Error(`insertNodes: node '${after.name}' is not in graph '${this.proto.name}'`); // a bug in a pass, not in the model
    this.proto.node.splice(at, 0, ...nodes);
    this.invalidate();
  }

  removeNode(node: NodeProto): void {
    const i = this.proto.node.indexOf(node);
    if (i >= 0) this.proto.node.splice(i, 1);
    this.invalidate();
  }

  /** Points every reader of `from` (except `skip`) at `to`. Graph outputs are not renamed. */
  replaceUses(from: string, to: string, skip?: (n: NodeProto) => boolean): void {
    for (const n of this.consumers(from)) {
      if (skip?.(n)) continue;
      n.input = n.input.map((i) => (i === from ? to : i));
      for (const a of n.attribute) {
        if (a.g) renameInSubgraph(a.g, from, to);
        for (const g of a.graphs) renameInSubgraph(g, from, to);
      }
    }
    this.invalidate();
  }

  /** Removes nodes whose outputs nobody reads (Constant leftovers after folding), and unused initializers. */
  removeUnused(): number {
    let removed = 0;
    for (;;) {
      this.index();
      const dead = this.proto.node.filter(
        (n) => n.output.every((o) => !o || (this.consumers(o).length === 0 && !this.isGraphOutput(o))),
      );
      if (dead.length === 0) break;
      const set = new Set(dead);
      this.proto.node = this.proto.node.filter((n) => !set.has(n));
      removed += dead.length;
      this.invalidate();
    }
    const used = new Set<string>();
    for (const n of this.proto.node) for (const i of [...n.input, ...subgraphOuterInputs(n)]) used.add(i);
    for (const o of this.proto.output) used.add(o.name);
    for (const t of [...this.proto.initializer]) if (!used.has(t.name)) this.removeInitializer(t.name);
    this.invalidate();
    return removed;
  }

  /** Orders nodes so that each comes after the producers of its inputs; stable for a sorted graph. */
  sort(): void {
    const nodes = this.proto.node;
    const produced = new Map<string, number>();
    nodes.forEach((n, i) => n.output.forEach((o) => o && produced.set(o, i)));
    const deps = nodes.map((n) => {
      const d = new Set<number>();
      for (const i of [...n.input, ...subgraphOuterInputs(n)]) {
        const p = produced.get(i);
        if (p !== undefined) d.add(p);
      }
      return d;
    });
    const waiting = deps.map((d) => d.size);
    const dependents: number[][] = nodes.map(() => []);
    deps.forEach((d, i) => d.forEach((p) => dependents[p]!.push(i)));
    // A min-heap would keep the order closest to the original; a sorted ready list is enough here.
    const ready: number[] = [];
    waiting.forEach((w, i) => w === 0 && ready.push(i));
    const order: number[] = [];
    while (ready.length) {
      ready.sort((a, b) => a - b);
      const i = ready.shift()!;
      order.push(i);
      for (const j of dependents[i]!) if (--waiting[j]! === 0) ready.push(j);
    }
    if (order.length !== nodes.length) {
      // Every node left waits for another node left; following those waits from any of them must
      // come back round: that loop is the cycle to name (not the nodes merely stuck behind it).
      const path: number[] = [];
      let i = waiting.findIndex((w) => w > 0);
      while (!path.includes(i)) {
        path.push(i);
        i = [...deps[i]!].find((p) => waiting[p]! > 0)!;
      }
      // The walk ran against the data flow: turn it round, starting at the first node as stored.
      const loop = path.slice(path.indexOf(i)).reverse();
      const first = loop.indexOf(Math.min(...loop));
      const cycle = [...loop.slice(first), ...loop.slice(0, first)];
      const named = cycle.slice(0, 4).map((k) => describeNode(nodes[k]!));
      fail('BAD_MODEL', `the graph has a cycle (through ${named.join(', ')}${cycle.length > 4 ? ', …' : ''}): an ONNX graph must be acyclic. Re-export the model.`);
    }
    this.proto.node = order.map((i) => nodes[i]!);
    this.invalidate();
  }
}

/** Names a node's subgraphs read from the enclosing scope (produced neither inside nor as their inputs). */
export function subgraphOuterInputs(node: NodeProto): string[] {
  const out: string[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(...outerNames(a.g));
    for (const g of a.graphs) out.push(...outerNames(g));
  }
  return out;
}

function outerNames(g: GraphProto): string[] {
  const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
  const result = new Set<string>();
  for (const n of g.node) {
    for (const i of [...n.input, ...subgraphOuterInputs(n)]) if (i && !local.has(i)) result.add(i);
    for (const o of n.output) local.add(o);
  }
  for (const o of g.output) if (!local.has(o.name)) result.add(o.name);
  return [...result];
}

function renameInSubgraph(g: GraphProto, from: string, to: string): void {
  if (g.input.some((v) => v.name === from) || g.initializer.some((t) => t.name === from)) return; // shadowed
  for (const n of g.node) {
    n.input = n.input.map((i) => (i === from ? to : i));
    for (const a of n.attribute) {
      if (a.g) renameInSubgraph(a.g, from, to);
      for (const s of a.graphs) renameInSubgraph(s, from, to);
    }
  }
  for (const o of g.output) if (o.name === from) o.name = to;
}
