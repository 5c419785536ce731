/** Reading and writing node attributes, and making nodes. */
import { create } from '@bufbuild/protobuf';
import { DT } from '../onnx/dtype.js';
import { makeTensor } from '../onnx/tensor.js';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AT,
  NodeProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

export type AttrValue = number | string | number[] | TensorProto | GraphProto | { floats: number[] };

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number;
export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a ? Number(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number;
export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? [...a.floats] : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string;
export function attrString(node: NodeProto, name: string): string | undefined;
export function attrString(node: NodeProto, name: string, fallback?: string): string | undefined {
  const a = getAttr(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return getAttr(node, name)?.t;
}

/** Builds an attribute. Integers vs floats: JS numbers that are integers become INT unless `float` is asked. */
export function makeAttr(name: string, value: AttrValue, kind?: 'float' | 'floats'): AttributeProto {
  if (typeof value === 'string')
    return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(value) });
  if (typeof value === 'number')
    return kind === 'float' || !Number.isInteger(value)
      ? create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value })
      : create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(value) });
  if (Array.isArray(value))
    return kind === 'floats'
      ? create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: value })
      : create(AttributeProtoSchema, { name, type: AT.INTS, ints: value.map((v) => BigInt(v)) });
  if ('floats' in value) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: value.floats });
  if (value.$typeName === 'onnx.TensorProto') return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: value });
  return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: value as GraphProto });
}

export function setAttr(node: NodeProto, name: string, value: AttrValue, kind?: 'float' | 'floats'): void {
  removeAttr(node, name);
  node.attribute.push(makeAttr(name, value, kind));
}

export function removeAttr(node: NodeProto, name: string): void {
  node.attribute = node.attribute.filter((a) => a.name !== name);
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export function makeNode(spec: NodeSpec): NodeProto {
  return create(NodeProtoSchema, {
    opType: spec.opType,
    input: spec.inputs,
    output: spec.outputs,
    name: spec.name ?? '',
    domain: spec.domain ?? '',
    attribute: Object.entries(spec.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
  });
}

/** Whether a node (or an opset import) belongs to the default ONNX domain, which is spelled '' or 'ai.onnx'. */
export function isStandard(node: Pick<NodeProto, 'domain'>): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** Whether a node holds subgraphs (If branches, Loop and Scan bodies). */
export function hasSubgraphs(node: NodeProto): boolean {
  return node.attribute.some((a) => a.g || a.graphs.length);
}

/** A node's name for messages: its name, or its op type and first output when it has none. */
export function describeNode(node: NodeProto): string {
  return node.name ? `'${node.name}' (${node.opType})` : `${node.opType} → '${node.output[0] ?? '?'}'`;
}

/** The tensor a Constant node holds, whichever of its value attributes it uses. */
export function constantNodeValue(node: NodeProto): TensorProto | undefined {
  for (const a of node.attribute) {
    switch (a.name) {
      case 'value':
        return a.t;
      case 'value_float':
        return makeTensor('', DT.FLOAT, [], Float32Array.of(a.f));
      case 'value_floats':
        return makeTensor('', DT.FLOAT, [a.floats.length], Float32Array.from(a.floats));
      case 'value_int':
        return makeTensor('', DT.INT64, [], BigInt64Array.of(a.i));
      case 'value_ints':
        return makeTensor('', DT.INT64, [a.ints.length], BigInt64Array.from(a.ints));
    }
  }
  return undefined;
}
