/**
 * What an opset adapter works with: the graph it edits (a Scope, chained to the graphs around a
 * subgraph), model-wide unique names, constant lookup, new initializers (deduplicated by content),
 * and what is known about a value's rank and element type (infer.ts).
 */
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { constantNodeValue, getAttr, isStandard, makeNode, type NodeSpec } from '../../ir/node.js';
import { subgraphOuterInputs } from '../../ir/graph.js';
import { typeOf, type Dim } from '../../ir/types.js';
import { DT, floatToBfloat16, floatToHalf, type TypedArray } from '../../onnx/dtype.js';
import { makeTensor } from '../../onnx/tensor.js';
import { elemTypeOf, rankOf } from './infer.js';
import type { NameSet } from '../../ir/names.js';

/** What an adapter returns: nothing (the node was edited in place), 'same' (nothing to do), or replacement nodes. */
export type AdapterResult = void | 'same' | NodeProto[];

/**
 * Rewrites one node from the form of the schema before `cx.version` to the form of the schema at
 * `cx.version`. Replacement nodes must be written at `cx.version`; the driver upgrades them further.
 */
export type Adapter = (node: NodeProto, cx: Cx) => AdapterResult;

/** Thrown by an adapter that meets a node it cannot convert; the driver collects these. */
export class Refusal extends Error {}

/** One graph being converted, with an index kept up to date by the driver as nodes are replaced. */
export class Scope {
  readonly graph: GraphProto;
  readonly parent?: Scope;
  readonly names: NameSet;
  private readonly producers = new Map<string, NodeProto>();
  private readonly inits = new Map<string, TensorProto>();
  private readonly infos = new Map<string, ValueInfoProto>();
  private readonly inputs = new Set<string>();
  private readonly reads = new Set<string>();
  private readonly byContent = new Map<string, string>();
  readonly rankMemo = new Map<string, number | null>();
  readonly typeMemo = new Map<string, number | null>();

  constructor(graph: GraphProto, names: NameSet, parent?: Scope) {
    this.graph = graph;
    this.names = names;
    this.parent = parent;
    for (const v of graph.input) this.inputs.add(v.name);
    for (const v of [...graph.valueInfo, ...graph.output, ...graph.input]) this.infos.set(v.name, v);
    for (const t of graph.initializer) this.inits.set(t.name, t);
    for (const n of graph.node) {
      this.indexNode(n);
      for (const i of [...n.input, ...subgraphOuterInputs(n)]) if (i) this.reads.add(i);
    }
    for (const o of graph.output) this.reads.add(o.name);
  }

  indexNode(n: NodeProto): void {
    for (const o of n.output) if (o) this.producers.set(o, n);
  }

  private defines(name: string): boolean {
    return this.inputs.has(name) || this.inits.has(name) || this.producers.has(name);
  }

  /** The node producing `name`, looked up through the enclosing graphs. */
  producer(name: string): NodeProto | undefined {
    if (this.defines(name)) return this.producers.get(name);
    return this.parent?.producer(name);
  }

  valueInfo(name: string): ValueInfoProto | undefined {
    return this.infos.get(name) ?? (this.defines(name) ? undefined : this.parent?.valueInfo(name));
  }

  /** A value known when the model is built: an initializer no input overrides, or a Constant's output. */
  constant(name: string): TensorProto | undefined {
    if (!name) return undefined;
    if (!this.defines(name)) return this.parent?.constant(name);
    if (this.inputs.has(name)) return undefined;
    const init = this.inits.get(name);
    if (init) return init;
    const p = this.producers.get(name);
    return p && p.opType === 'Constant' && isStandard(p) ? constantNodeValue(p) : undefined;
  }

  /** Whether a node of this graph (or of a subgraph reading the outer scope) reads `name`, or it is an output. */
  isRead(name: string): boolean {
    return this.reads.has(name);
  }

  /**
   * Adds an initializer, reusing an earlier one with the same type, shape and bytes. New constants
   * go to the main graph, whose values every subgraph sees (a Loop body's inputs are positional).
   */
  addConstant(base: string, dtype: number, dims: readonly number[], data: TypedArray): string {
    if (this.parent) return this.parent.addConstant(base, dtype, dims, data);
    const probe = makeTensor('', dtype, dims, data);
    const key = probe.rawData.length <= 4096 ? `${dtype}|${dims.join(',')}|${hex(probe.rawData)}` : undefined;
    const known = key && this.byContent.get(key);
    if (known) return known;
    probe.name = this.names.fresh(base);
    this.graph.initializer.push(probe);
    this.inits.set(probe.name, probe);
    if (key) this.byContent.set(key, probe.name);
    return probe.name;
  }
}

/** An adapter's view of one conversion step: the scope, the version it converts to, and helpers. */
export class Cx {
  constructor(
    readonly scope: Scope,
    /** The opset version this step converts the node to. */
    readonly version: number,
    readonly target: number,
  ) {}

  refuse(reason: string): never {
    throw new Refusal(reason);
  }

  fresh(base: string): string {
    return this.scope.names.fresh(base);
  }

  /** A readable stem for names derived from a node. */
  label(node: NodeProto): string {
    return node.name || node.output[0] || node.opType;
  }

  constant(name: string): TensorProto | undefined {
    return this.scope.constant(name);
  }

  rank(name: string): number | undefined {
    return name ? rankOf(this.scope, name) : undefined;
  }

  /** Element type of a value, where the graph tells it (value_info, initializers, producers' rules). */
  dtype(name: string): number | undefined {
    return name ? elemTypeOf(this.scope, name) : undefined;
  }

  /** Static shape from value_info, when the model carries one. */
  shape(name: string): Dim[] | undefined {
    return typeOf(this.scope.valueInfo(name))?.shape;
  }

  isRead(name: string): boolean {
    return this.scope.isRead(name);
  }

  /** An int64 initializer holding `values` (1-D, or a scalar when `scalar`). */
  int64s(base: string, values: readonly (number | bigint)[], scalar = false): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.scope.addConstant(base, DT.INT64, scalar ? [] : [values.length], data);
  }

  /** A scalar initializer of a float element type (float32 when the type is not known). */
  floatScalar(base: string, value: number, dtype: number = DT.FLOAT): string {
    if (dtype === DT.DOUBLE) return this.scope.addConstant(base, dtype, [], Float64Array.of(value));
    if (dtype === DT.FLOAT16) return this.scope.addConstant(base, dtype, [], Uint16Array.of(floatToHalf(value)));
    if (dtype === DT.BFLOAT16) return this.scope.addConstant(base, dtype, [], Uint16Array.of(floatToBfloat16(value)));
    if (dtype !== DT.FLOAT) this.refuse(`needs a constant of element type ${dtype}, which is not a float type`);
    return this.scope.addConstant(base, dtype, [], Float32Array.of(value));
  }

  floats(base: string, values: readonly number[]): string {
    return this.scope.addConstant(base, DT.FLOAT, [values.length], Float32Array.from(values));
  }

  /** A node with a unique name derived from `base`, in the default domain. */
  node(base: string, spec: Omit<NodeSpec, 'name'>): NodeProto {
    return makeNode({ ...spec, name: this.scope.names.fresh(base) });
  }
}

/** An int list attribute as exact int64 values (Number would round 2^63-1, a common "to the end"). */
export function attrInt64s(node: NodeProto, name: string): bigint[] | undefined {
  const a = getAttr(node, name);
  return a ? [...a.ints] : undefined;
}


function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
