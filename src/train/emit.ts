/**
 * The Emitter: where backward rules write the nodes of a training graph. It hands out fresh names,
 * keeps constants (one initializer per distinct value), knows every forward value's static shape and
 * the opset the graph runs at, and offers the one piece of arithmetic on shapes most rules need:
 * summing a broadcast gradient back to its input's shape (ReduceSum over the broadcast axes, keepdims,
 * then Reshape — NumPy's broadcasting rules read backwards).
 */
import { clone } from '@bufbuild/protobuf';
import { AttributeProtoSchema, type NodeProto, type TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { DT } from '../onnx/dtype.js';
import { floatTensor, int64Tensor, makeTensor, readInts } from '../onnx/tensor.js';
import { makeAttr, makeNode, type AttrValue } from '../ir/node.js';
import type { NameSet } from '../ir/names.js';

/** An attribute value; `{ f }` forces a float where the number happens to be an integer (Gemm's alpha = 1). */
export type EmitAttr = AttrValue | { f: number };

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<string, string>();

  constructor(
    private readonly names: NameSet,
    /** Static shape of every forward value (and of the values rules emit where they record one). */
    readonly shapes: Map<string, number[]>,
    /** The default-domain opset of the training graph. */
    readonly opset: number,
    /** The forward graph's initializers by name (constant axes, shapes). */
    private readonly weights: ReadonlyMap<string, TensorProto> = new Map(),
  ) {}

  /** The values of a constant integer input (an initializer), or undefined when it is not one. */
  constantInts(name: string): number[] | undefined {
    const t = this.weights.get(name);
    return t ? readInts(t) : undefined;
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) fail('BAD_MODEL', `the training graph needs the static shape of '${name}' and none was measured: measure shapes on a batch of the size you train with (measureShapes).`);
    return s;
  }

  /** Emits one node with `count` outputs; returns their names. */
  multi(opType: string, inputs: string[], count: number, attrs: Record<string, EmitAttr> = {}, hint = opType): string[] {
    const outputs = Array.from({ length: count }, () => this.fresh(`grad/${hint}`));
    const node = makeNode({ opType, inputs, outputs, name: this.fresh(`grad/${opType}`) });
    node.attribute = Object.entries(attrs).map(([k, v]) =>
      typeof v === 'object' && v !== null && 'f' in v ? makeAttr(k, v.f, 'float') : makeAttr(k, v as AttrValue),
    );
    this.nodes.push(node);
    return outputs;
  }

  /** Emits a copy of `node` (its op type, domain and attributes) reading `inputs`; returns its first output. */
  like(node: NodeProto, inputs: string[]): string {
    const out = this.fresh(`grad/${node.opType}`);
    const copy = makeNode({ opType: node.opType, domain: node.domain, inputs, outputs: [out], name: this.fresh(`grad/${node.opType}`) });
    copy.attribute = node.attribute.map((a) => clone(AttributeProtoSchema, a));
    this.nodes.push(copy);
    return out;
  }

  /** Emits one node with one output; records `shape` for it when given. */
  op(opType: string, inputs: string[], attrs: Record<string, EmitAttr> = {}, shape?: number[]): string {
    const [out] = this.multi(opType, inputs, 1, attrs);
    if (shape) this.shapes.set(out!, shape);
    return out!;
  }

  /** A 1-D int64 constant (axes, shapes, sizes). */
  ints(values: readonly number[]): string {
    return this.constant(`i:${values.join(',')}`, (name) => int64Tensor(name, [values.length], values));
  }

  /** An int64 scalar constant. */
  int(value: number): string {
    return this.constant(`s:${value}`, (name) => int64Tensor(name, [], [value]));
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, (name) => floatTensor(name, [], [value]));
  }

  /** A float32 constant of any shape (not shared). */
  floats(dims: number[], data: Float32Array): string {
    const name = this.fresh('grad/const');
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  /** A float tensor of `shape` filled with `value`, made by ConstantOfShape (nothing stored in the file). */
  filled(shape: number[], value: number): string {
    return this.op('ConstantOfShape', [this.ints(shape)], { value: makeTensor('', DT.FLOAT, [1], Float32Array.of(value)) }, shape);
  }

  /** ReduceSum over `axes`; `keepdims` 1 unless said otherwise. */
  reduceSum(x: string, axes: number[], keepdims = 1): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims });
  }

  /**
   * The gradient `grad` (of shape `from`, the broadcast result) summed to `to`, the shape of an input
   * that was broadcast to `from`: ReduceSum over the leading axes `to` lacks and the axes where `to`
   * has 1, then Reshape. Returns `grad` itself when nothing was broadcast.
   */
  reduceTo(grad: string, from: readonly number[], to: readonly number[]): string {
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    if (axes.length === 0 && lead === 0) return grad;
    const summed = axes.length ? this.reduceSum(grad, axes, 1) : grad;
    return this.op('Reshape', [summed, this.ints(to)], {}, [...to]);
  }

  private constant(key: string, make: (name: string) => TensorProto): string {
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('grad/const');
      this.initializers.push(make(name));
      this.constants.set(key, name);
    }
    return name;
  }
}

/** Normalises a possibly negative axis against a rank. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
