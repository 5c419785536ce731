/**
 * Names as a graph sees them: its own values, then those of the graphs that enclose it, as ONNX scoping
 * rules say (an If/Loop body reads outer values by name; a name it defines itself shadows them).
 */
import type { NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import type { Graph } from './graph.js';
import { isStandard } from './node.js';

export class Scope {
  private static count = 0;
  /** Unique per scope: sibling subgraphs may hold different tensors under one name. */
  readonly id = Scope.count++;

  constructor(
    readonly graph: Graph,
    private readonly parent?: Scope,
  ) {}

  /**
   * The constant, the scope whose graph holds it and its name there. An Identity of a constant is that constant:
   * exporters write shared weights so (PyTorch gives the second of two identical layers Identity
   * nodes on the first one's weights), and quantizing through it keeps one copy of the weight.
   */
  lookup(name: string): { tensor: TensorProto; scope: Scope; name: string } | undefined {
    const own = this.graph.constant(name);
    if (own) return { tensor: own, scope: this, name };
    const producer = this.graph.producer(name);
    if (producer?.opType === 'Identity' && isStandard(producer) && producer.input[0]) return this.lookup(producer.input[0]);
    if (this.defines(name)) return undefined;
    return this.parent?.lookup(name);
  }

  constant(name: string): TensorProto | undefined {
    return this.lookup(name)?.tensor;
  }

  /** The node that computes `name`, in this graph or an enclosing one. */
  producer(name: string): NodeProto | undefined {
    return this.defines(name) ? this.graph.producer(name) : this.parent?.producer(name);
  }

  /** The declaration (input, output, value_info) of `name`, in this graph or an enclosing one. */
  declared(name: string): ValueInfoProto | undefined {
    return this.graph.declared(name) ?? (this.defines(name) ? undefined : this.parent?.declared(name));
  }

  /** Whether this graph defines `name` itself (an input, an initializer or a node's output), hiding outer ones. */
  private defines(name: string): boolean {
    return this.graph.isGraphInput(name) || !!this.graph.initializer(name) || !!this.graph.producer(name);
  }
}

/** Whether a node reads a constant weight (a constant of rank 2 or more, after its first input). */
export function hasConstantWeight(scope: Scope, node: NodeProto): boolean {
  return node.input.slice(1).some((i) => {
    const t = i ? scope.lookup(i)?.tensor : undefined;
    return !!t && t.dims.length >= 2;
  });
}
