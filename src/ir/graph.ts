/**
 * Graph: an editable view of an ONNX GraphProto. Nodes stay NodeProto objects, so everything the file
 * holds that onnxq does not touch (unknown fields, other domains, metadata) survives a save.
 *
 * Every edit goes through a method here and updates the index (producers, readers, node names,
 * initializers, graph inputs) in time proportional to the edit, never to the graph: a pass over a
 * model of 10,000 nodes makes thousands of edits. Node order is a linked list, so inserting after a
 * node or removing one is constant time too; the GraphProto's node and initializer lists are written
 * back from it by `commit()` — and by `nodes`, `sort()` and `removeUnused()` — so call `commit()`
 * before handing the proto to anything else (an encoder, another Graph) after edits.
 */
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { NameSet } from './names.js';
import { constantNodeValue, describeNode, isStandard } from './node.js';

interface Link {
  prev?: NodeProto;
  next?: NodeProto;
}

export class Graph {
  readonly proto: GraphProto;
  /** Names in use in the model this graph belongs to (its own, its subgraphs', and when shared, its relatives'). */
  readonly names: NameSet;
  private readonly links = new Map<NodeProto, Link>();
  private first?: NodeProto;
  private last?: NodeProto;
  private readonly producers = new Map<string, NodeProto>();
  /** Value → the nodes that read it, each once, in the order they started reading it. */
  private readonly readers = new Map<string, Set<NodeProto>>();
  /** Node → the values it reads as indexed: its inputs and what its subgraphs read from this scope. */
  private readonly reads = new Map<NodeProto, Set<string>>();
  /** Node → the values it writes as indexed. */
  private readonly writes = new Map<NodeProto, string[]>();
  /** Node name → the nodes of that name (one, but for a moment during an edit that replaces a node by a namesake). */
  private readonly byName = new Map<string, Set<NodeProto>>();
  private readonly inits = new Map<string, TensorProto>();
  private readonly inputNames = new Set<string>();
  private readonly outputNames: ReadonlySet<string>;
  /** Declared value types by name, built on first use. */
  private declarations?: Map<string, ValueInfoProto>;
  /** What `commit()` must write back into the proto. */
  private stale = { order: false, initializers: false, inputs: new Set<string>(), valueInfo: new Set<string>() };

  /** `names`: the model's NameSet when several graphs of one model are edited together (subgraphs). */
  constructor(proto: GraphProto, names: NameSet = NameSet.of(proto)) {
    this.proto = proto;
    this.names = names;
    for (const t of proto.initializer) this.inits.set(t.name, t);
    for (const v of proto.input) this.inputNames.add(v.name);
    this.outputNames = new Set(proto.output.map((v) => v.name));
    for (const n of proto.node) {
      this.link(n, this.last);
      this.register(n);
    }
  }

  /** The nodes in order; also writes pending edits back into the proto. Do not mutate the array. */
  get nodes(): readonly NodeProto[] {
    this.commit();
    return this.proto.node;
  }

  /** Writes node order, initializers and removed inputs back into the GraphProto. */
  commit(): void {
    const s = this.stale;
    if (s.order) {
      const order: NodeProto[] = [];
      for (let n = this.first; n; n = this.links.get(n)!.next) order.push(n);
      this.proto.node = order;
      s.order = false;
    }
    if (s.initializers) {
      this.proto.initializer = [...this.inits.values()];
      s.initializers = false;
    }
    if (s.inputs.size) {
      this.proto.input = this.proto.input.filter((v) => !s.inputs.has(v.name));
      s.inputs.clear();
    }
    if (s.valueInfo.size) {
      this.proto.valueInfo = this.proto.valueInfo.filter((v) => !s.valueInfo.has(v.name));
      s.valueInfo.clear();
    }
  }

  // ---- lookups ----

  has(node: NodeProto): boolean {
    return this.links.has(node);
  }

  /** The node called `name` (node names are unique in the graphs onnxq prepares; else the first indexed). */
  node(name: string): NodeProto | undefined {
    return this.byName.get(name)?.values().next().value;
  }

  producer(name: string): NodeProto | undefined {
    return this.producers.get(name);
  }

  /** Nodes that read `name`, including nodes whose subgraphs read it from the outer scope; each once. */
  consumers(name: string): NodeProto[] {
    const r = this.readers.get(name);
    return r ? [...r] : [];
  }

  initializer(name: string): TensorProto | undefined {
    return this.inits.get(name);
  }

  /** A value known when the model is built: an initializer or the output of a Constant node. */
  constant(name: string): TensorProto | undefined {
    const init = this.inits.get(name);
    if (init) return this.inputNames.has(name) ? undefined : init; // an input may override its initializer
    const p = this.producers.get(name);
    return p && p.opType === 'Constant' && isStandard(p) ? constantNodeValue(p) : undefined;
  }

  /** The declaration (graph input, output or value_info) of a value, where the model has one. */
  declared(name: string): ValueInfoProto | undefined {
    if (!this.declarations) {
      this.declarations = new Map();
      for (const v of [...this.proto.input, ...this.proto.valueInfo, ...this.proto.output]) if (!this.declarations.has(v.name)) this.declarations.set(v.name, v);
    }
    return this.declarations.get(name);
  }

  isGraphInput(name: string): boolean {
    return this.inputNames.has(name);
  }

  isGraphOutput(name: string): boolean {
    return this.outputNames.has(name);
  }

  /** Inputs a user feeds: graph inputs that are not initializers (old exports list weights as inputs too). */
  get inputs(): ValueInfoProto[] {
    return this.proto.input.filter((v) => this.inputNames.has(v.name) && !this.inits.has(v.name));
  }

  get outputs(): ValueInfoProto[] {
    return this.proto.output;
  }

  hasName(name: string): boolean {
    return this.names.has(name);
  }

  /** A value or node name not yet used in the model, derived from `base`. */
  uniqueName(base: string): string {
    return this.names.fresh(base);
  }

  // ---- edits ----

  /** Adds an initializer; one of the same name is replaced (and moves to the end of the list). */
  addInitializer(t: TensorProto): void {
    if (this.inits.delete(t.name)) this.stale.initializers = true;
    this.inits.set(t.name, t);
    this.names.add(t.name);
    if (!this.stale.initializers) this.proto.initializer.push(t);
  }

  /** Removes an initializer and its entries among the graph inputs (where old exports list it) and value_info. */
  removeInitializer(name: string): void {
    if (!this.inits.delete(name)) return;
    this.stale.initializers = true;
    this.removeInput(name);
    this.stale.valueInfo.add(name);
    this.declarations?.delete(name);
  }

  /** Removes a graph input (e.g. one that only names an initializer). */
  removeInput(name: string): void {
    if (this.inputNames.delete(name)) this.stale.inputs.add(name);
  }

  /** Inserts nodes right after `after` (or at the start); topological order is restored by `sort()`. */
  insertNodes(nodes: readonly NodeProto[], after?: NodeProto): void {
    if (after && !this.links.has(after)) throw new Error(`insertNodes: node ${describeNode(after)} is not in graph '${this.proto.name}'`); // a bug in a pass, not in the model
    let prev = after;
    for (const n of nodes) {
      this.link(n, prev);
      this.register(n);
      prev = n;
    }
  }

  /** Puts `nodes` where `node` was, and removes `node`. */
  replaceNode(node: NodeProto, nodes: readonly NodeProto[]): void {
    const prev = this.links.get(node)?.prev;
    this.removeNode(node);
    this.insertNodes(nodes, prev);
  }

  removeNode(node: NodeProto): void {
    const link = this.links.get(node);
    if (!link) return;
    if (link.prev) this.links.get(link.prev)!.next = link.next;
    else this.first = link.next;
    if (link.next) this.links.get(link.next)!.prev = link.prev;
    else this.last = link.prev;
    this.links.delete(node);
    this.stale.order = true;
    this.unwrite(node);
    for (const r of this.reads.get(node)!) this.readers.get(r)!.delete(node);
    this.reads.delete(node);
    this.unname(node);
  }

  /** Sets input `index` of `node` (extending its input list with empty names where needed). */
  setInput(node: NodeProto, index: number, name: string): void {
    while (node.input.length <= index) node.input.push('');
    if (node.input[index] === name) return;
    node.input[index] = name;
    this.reindexReads(node);
  }

  setInputs(node: NodeProto, names: readonly string[]): void {
    node.input = [...names];
    this.reindexReads(node);
  }

  /** Call after editing a node behind the graph's back: its inputs or outputs in place, or its subgraphs' bodies. */
  refresh(node: NodeProto): void {
    if (!this.links.has(node)) return;
    this.unwrite(node);
    this.write(node);
    this.reindexReads(node);
  }

  setName(node: NodeProto, name: string): void {
    this.unname(node);
    node.name = name;
    this.nameIndex(node);
  }

  /** Renames output `index` of `node`: it now writes `name`. */
  setOutput(node: NodeProto, index: number, name: string): void {
    if (node.output[index] === name) return;
    this.unwrite(node);
    node.output[index] = name;
    this.write(node);
  }

  setOutputs(node: NodeProto, names: readonly string[]): void {
    this.unwrite(node);
    node.output = [...names];
    this.write(node);
  }

  /** Points every reader of `from` (except `skip`) at `to`, inside their subgraphs too. Graph outputs are not renamed. */
  replaceUses(from: string, to: string, skip?: (n: NodeProto) => boolean): void {
    for (const n of this.consumers(from)) {
      if (skip?.(n)) continue;
      n.input = n.input.map((i) => (i === from ? to : i));
      for (const a of n.attribute) {
        if (a.g) renameInSubgraph(a.g, from, to);
        for (const g of a.graphs) renameInSubgraph(g, from, to);
      }
      this.reindexReads(n);
    }
  }

  /** Removes nodes whose outputs nobody reads (Constant leftovers after folding), then unused initializers. */
  removeUnused(): number {
    const dead = (n: NodeProto) => n.output.every((o) => !o || (!this.readers.get(o)?.size && !this.outputNames.has(o)));
    const work: NodeProto[] = [];
    for (let n = this.first; n; n = this.links.get(n)!.next) if (dead(n)) work.push(n);
    let removed = 0;
    while (work.length) {
      const n = work.pop()!;
      if (!this.links.has(n)) continue;
      const inputs = [...this.reads.get(n)!];
      this.removeNode(n);
      removed++;
      // A producer whose last reader went may be dead now.
      for (const i of inputs) {
        const p = this.producers.get(i);
        if (p && !this.readers.get(i)?.size && dead(p)) work.push(p);
      }
    }
    for (const name of [...this.inits.keys()]) if (!this.readers.get(name)?.size && !this.outputNames.has(name)) this.removeInitializer(name);
    this.commit();
    return removed;
  }

  /** Orders nodes so that each comes after the producers of its inputs; stable for a sorted graph. */
  sort(): void {
    const nodes = this.nodes;
    const produced = new Map<string, number>();
    nodes.forEach((n, i) => n.output.forEach((o) => o && produced.set(o, i)));
    const deps = nodes.map((n) => {
      const d = new Set<number>();
      for (const i of this.reads.get(n)!) {
        const p = produced.get(i);
        if (p !== undefined) d.add(p);
      }
      return d;
    });
    const waiting = deps.map((d) => d.size);
    const dependents: number[][] = nodes.map(() => []);
    deps.forEach((d, i) => d.forEach((p) => dependents[p]!.push(i)));
    // Always the ready node stored first: a sorted graph keeps its order, an unsorted one moves least.
    const ready = new MinHeap();
    waiting.forEach((w, i) => w === 0 && ready.push(i));
    const order: number[] = [];
    while (ready.size) {
      const i = ready.pop();
      order.push(i);
      for (const j of dependents[i]!) if (--waiting[j]! === 0) ready.push(j);
    }
    if (order.length !== nodes.length) cycleError(nodes, deps, waiting);
    this.first = this.last = undefined;
    this.links.clear();
    for (const i of order) this.link(nodes[i]!, this.last);
    this.commit();
  }

  // ---- index upkeep ----

  private link(node: NodeProto, prev: NodeProto | undefined): void {
    const next = prev ? this.links.get(prev)!.next : this.first;
    this.links.set(node, { prev, next });
    if (prev) this.links.get(prev)!.next = node;
    else this.first = node;
    if (next) this.links.get(next)!.prev = node;
    else this.last = node;
    this.stale.order = true;
  }

  private register(node: NodeProto): void {
    this.write(node);
    this.nameIndex(node);
    const reads = readsOf(node);
    this.reads.set(node, reads);
    for (const r of reads) this.readerSet(r).add(node);
  }

  /** Indexes what a node writes, as it is now. */
  private write(node: NodeProto): void {
    this.writes.set(node, [...node.output]);
    for (const o of node.output) {
      if (o) this.producers.set(o, node);
      this.names.add(o);
    }
  }

  /** Forgets what a node wrote when it was last indexed. */
  private unwrite(node: NodeProto): void {
    for (const o of this.writes.get(node) ?? []) if (this.producers.get(o) === node) this.producers.delete(o);
    this.writes.delete(node);
  }

  private nameIndex(node: NodeProto): void {
    if (!node.name) return;
    let set = this.byName.get(node.name);
    if (!set) this.byName.set(node.name, (set = new Set()));
    set.add(node);
    this.names.add(node.name);
  }

  private unname(node: NodeProto): void {
    const set = node.name ? this.byName.get(node.name) : undefined;
    if (!set?.delete(node) || set.size) return;
    this.byName.delete(node.name);
  }

  private reindexReads(node: NodeProto): void {
    const old = this.reads.get(node);
    if (!old) return; // not (or no longer) in this graph
    const now = readsOf(node);
    for (const r of old) if (!now.has(r)) this.readers.get(r)!.delete(node);
    for (const r of now) if (!old.has(r)) this.readerSet(r).add(node);
    this.reads.set(node, now);
  }

  private readerSet(name: string): Set<NodeProto> {
    let s = this.readers.get(name);
    if (!s) this.readers.set(name, (s = new Set()));
    return s;
  }
}

/** What a node reads: its non-empty inputs and the names its subgraphs read from the enclosing scope. */
function readsOf(node: NodeProto): Set<string> {
  const reads = new Set<string>();
  for (const i of node.input) if (i) reads.add(i);
  for (const i of subgraphOuterInputs(node)) reads.add(i);
  return reads;
}

/** A binary min-heap of node indices. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Every node left waits for another node left; following those waits from any of them must come back
 * round: that loop is the cycle to name (not the nodes merely stuck behind it).
 */
function cycleError(nodes: readonly NodeProto[], deps: readonly Set<number>[], waiting: readonly number[]): never {
  const path: number[] = [];
  const onPath = new Set<number>();
  let i = waiting.findIndex((w) => w > 0);
  while (!onPath.has(i)) {
    path.push(i);
    onPath.add(i);
    i = [...deps[i]!].find((p) => waiting[p]! > 0)!;
  }
  // The walk ran against the data flow: turn it round, starting at the first node as stored.
  const loop = path.slice(path.indexOf(i)).reverse();
  const first = loop.indexOf(Math.min(...loop));
  const cycle = [...loop.slice(first), ...loop.slice(0, first)];
  const named = cycle.slice(0, 4).map((k) => describeNode(nodes[k]!));
  fail('BAD_MODEL', `the graph has a cycle (through ${named.join(', ')}${cycle.length > 4 ? ', …' : ''}): an ONNX graph must be acyclic. Re-export the model.`);
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
