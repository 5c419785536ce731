/**
 * Constants visible from a graph: its own, then those of the graphs that enclose it, as ONNX scoping
 * rules say (an If/Loop body reads outer initializers by name; a name it defines itself shadows them).
 */
import type { TensorProto } from 'onnx-buf';
import type { Graph } from './graph.js';

export class Scope {
  private static count = 0;
  /** Unique per scope: sibling subgraphs may hold different tensors under one name. */
  readonly id = Scope.count++;

  constructor(
    readonly graph: Graph,
    private readonly parent?: Scope,
  ) {}

  /** The constant and the scope whose graph holds it. */
  lookup(name: string): { tensor: TensorProto; scope: Scope } | undefined {
    const own = this.graph.constant(name);
    if (own) return { tensor: own, scope: this };
    if (this.graph.isGraphInput(name) || this.graph.producer(name) || this.graph.initializer(name)) return undefined;
    return this.parent?.lookup(name);
  }

  constant(name: string): TensorProto | undefined {
    return this.lookup(name)?.tensor;
  }
}
