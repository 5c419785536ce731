/**
 * What a model holds: inputs and outputs (names, element types, shapes), opsets, op-type counts and
 * the bytes its weights take — wherever they live (initializers, Constant nodes, If/Loop subgraphs).
 */
import type { ModelProto } from 'onnx-buf';
import { Graph } from '../ir/graph.js';
import { typeOf, type Dim } from '../ir/types.js';
import { dtypeName } from '../onnx/dtype.js';
import { tensorByteSize } from '../onnx/tensor.js';
import { forEachGraph, forEachTensor } from '../onnx/walk.js';

export interface ValueSummary {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export interface InspectReport {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodes: number;
  /** Op type → count over the main graph and all subgraphs (domain-qualified outside the default domain). */
  ops: Record<string, number>;
  subgraphs: number;
  parameters: { tensors: number; bytes: number; byType: Record<string, number>; inInitializers: number; inConstants: number; inSubgraphs: number };
}

export function inspectModel(model: ModelProto): InspectReport {
  const root = model.graph!;
  const graph = new Graph(root);
  const summary = (v: Parameters<typeof typeOf>[0]): ValueSummary => {
    const t = typeOf(v);
    return { name: v!.name, dtype: t ? dtypeName(t.dtype) : 'unknown', shape: t?.shape ?? null };
  };
  const ops: Record<string, number> = {};
  let nodes = 0;
  let subgraphs = -1;
  forEachGraph(root, (g) => {
    subgraphs++;
    for (const n of g.node) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      ops[key] = (ops[key] ?? 0) + 1;
      nodes++;
    }
  });
  const parameters = { tensors: 0, bytes: 0, byType: {} as Record<string, number>, inInitializers: 0, inConstants: 0, inSubgraphs: 0 };
  forEachTensor(root, (t, where) => {
    const bytes = tensorByteSize(t);
    parameters.tensors++;
    parameters.bytes += bytes;
    const type = dtypeName(t.dataType);
    parameters.byType[type] = (parameters.byType[type] ?? 0) + bytes;
    if (where.graph !== root) parameters.inSubgraphs += bytes;
    else if (where.node) parameters.inConstants += bytes;
    else parameters.inInitializers += bytes;
  });
  return {
    irVersion: Number(model.irVersion),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: Number(o.version) })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: graph.inputs.map(summary),
    outputs: graph.outputs.map(summary),
    nodes,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    subgraphs,
    parameters,
  };
}
