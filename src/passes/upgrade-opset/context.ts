/**
 * What an opset adapter works with: the graph it edits (an ir Scope, chained to the graphs around a
 * subgraph), model-wide unique names, constant lookup, new initializers (deduplicated by content),
 * and what is known about a value's rank and element type (infer.ts).
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import { getAttr, makeNode, type NodeSpec } from '../../ir/node.js';
import type { Graph } from '../../ir/graph.js';
import type { Scope } from '../../ir/scope.js';
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

/**
 * New initializers of a conversion, in the main graph — whose values every subgraph sees (a Loop
 * body's inputs are positional) — and one initializer per distinct small constant.
 */
export class Constants {
  private readonly byContent = new Map<string, string>();

  constructor(
    private readonly main: Graph,
    private readonly names: NameSet,
  ) {}

  add(base: string, dtype: number, dims: readonly number[], data: TypedArray): string {
    const probe = makeTensor('', dtype, dims, data);
    const key = probe.rawData.length <= 4096 ? `${dtype}|${dims.join(',')}|${hex(probe.rawData)}` : undefined;
    const known = key && this.byContent.get(key);
    if (known) return known;
    probe.name = this.names.fresh(base);
    this.main.addInitializer(probe);
    if (key) this.byContent.set(key, probe.name);
    return probe.name;
  }
}

/** An adapter's view of one conversion step: the scope, the version it converts to, and helpers. */
export class Cx {
  constructor(
    /** The graph of the node (and those around it, for a subgraph). */
    readonly scope: Scope,
    private readonly constants: Constants,
    private readonly names: NameSet,
    /** The opset version this step converts the node to. */
    readonly version: number,
    readonly target: number,
  ) {}

  refuse(reason: string): never {
    throw new Refusal(reason);
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }

  /** An initializer of the main graph holding `data` (an existing one when one holds the same small constant). */
  addConstant(base: string, dtype: number, dims: readonly number[], data: TypedArray): string {
    return this.constants.add(base, dtype, dims, data);
  }

  /** A readable stem for names derived from a node. */
  label(node: NodeProto): string {
    return node.name || node.output[0] || node.opType;
  }

  constant(name: string): TensorProto | undefined {
    return name ? this.scope.constant(name) : undefined;
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
    return typeOf(this.scope.declared(name))?.shape;
  }

  /** Whether a node of this graph (or a subgraph of one) reads `name`, or the graph returns it. */
  isRead(name: string): boolean {
    return this.scope.graph.consumers(name).length > 0 || this.scope.graph.isGraphOutput(name);
  }

  /** An int64 initializer holding `values` (1-D, or a scalar when `scalar`). */
  int64s(base: string, values: readonly (number | bigint)[], scalar = false): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.addConstant(base, DT.INT64, scalar ? [] : [values.length], data);
  }

  /** A scalar initializer of a float element type (float32 when the type is not known). */
  floatScalar(base: string, value: number, dtype: number = DT.FLOAT): string {
    if (dtype === DT.DOUBLE) return this.addConstant(base, dtype, [], Float64Array.of(value));
    if (dtype === DT.FLOAT16) return this.addConstant(base, dtype, [], Uint16Array.of(floatToHalf(value)));
    if (dtype === DT.BFLOAT16) return this.addConstant(base, dtype, [], Uint16Array.of(floatToBfloat16(value)));
    if (dtype !== DT.FLOAT) this.refuse(`needs a constant of element type ${dtype}, which is not a float type`);
    return this.addConstant(base, dtype, [], Float32Array.of(value));
  }

  floats(base: string, values: readonly number[]): string {
    return this.addConstant(base, DT.FLOAT, [values.length], Float32Array.from(values));
  }

  /** A node with a unique name derived from `base`, in the default domain. */
  node(base: string, spec: Omit<NodeSpec, 'name'>): NodeProto {
    return makeNode({ ...spec, name: this.names.fresh(base) });
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
