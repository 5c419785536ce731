/** Small models the tests build themselves, and helpers to run them in onnxruntime. */
import { create, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import fs from 'node:fs';
import path from 'node:path';
import { DT } from '../../src/onnx/dtype.js';
import { floatTensor } from '../../src/onnx/tensor.js';
import { makeNode, type NodeSpec } from '../../src/ir/node.js';
import { makeValueInfo, type Dim } from '../../src/ir/types.js';
import type { Sample } from '../../src/data/source.js';
import { tempDir } from './temp.js';
import { concatSamples } from '../../src/data/batch.js';
import { writeNpy } from '../../src/data/npy-file.js';

export interface ModelSpec {
  inputs: { name: string; dims: Dim[]; dtype?: number }[];
  outputs: { name: string; dims?: Dim[]; dtype?: number }[];
  nodes: NodeSpec[];
  initializers?: TensorProto[];
  opset?: number;
  irVersion?: number;
}

export function buildModel(spec: ModelSpec): ModelProto {
  const opset = spec.opset ?? 13;
  return create(ModelProtoSchema, {
    irVersion: BigInt(spec.irVersion ?? (opset >= 21 ? 10 : 8)),
    producerName: 'onnxq-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    graph: create(GraphProtoSchema, {
      name: 'test',
      node: spec.nodes.map((n, i) => makeNode({ name: n.name ?? `${n.opType}_${i}`, ...n })),
      initializer: spec.initializers ?? [],
      input: spec.inputs.map((i) => makeValueInfo(i.name, { dtype: i.dtype ?? DT.FLOAT, shape: i.dims })),
      output: spec.outputs.map((o) => makeValueInfo(o.name, { dtype: o.dtype ?? DT.FLOAT, shape: o.dims })),
    }),
  });
}

/** Deterministic pseudo-random floats in [lo, hi). */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

export function randomWeight(name: string, dims: number[], seed: number, scale = 0.5): TensorProto {
  return floatTensor(name, dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed, -scale, scale));
}

/** `count` samples for one float input of shape `dims`. */
export function randomSamples(input: string, dims: number[], count: number, seed = 1, lo = -1, hi = 1): Sample[] {
  const n = dims.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, (_, k) => ({ [input]: { dtype: 'float32', dims, data: randomFloats(n, seed * 1000 + k + 1, lo, hi) } }));
}

export async function runModel(model: ModelProto | Uint8Array, feeds: Sample, optimization: 'disabled' | 'all' = 'all'): Promise<Record<string, Float32Array>> {
  const bytes = model instanceof Uint8Array ? model : toBinary(ModelProtoSchema, model);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: optimization });
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
  const out = await session.run(tensors);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Op types (domain-qualified) of the graph onnxruntime builds after its optimizations: what it fused. */
export async function optimizedOps(model: ModelProto): Promise<Record<string, number>> {
  const file = path.join(tempDir('onnxq-opt-'), 'optimized.onnx');
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model), {
    graphOptimizationLevel: 'extended',
    optimizedModelFilePath: file,
  });
  await session.release();
  const optimized = fromBinary(ModelProtoSchema, fs.readFileSync(file));
  const counts: Record<string, number> = {};
  for (const n of optimized.graph!.node) {
    const k = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export function opCounts(model: ModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph!.node) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

export function nodesOf(model: ModelProto, opType: string): NodeProto[] {
  return model.graph!.node.filter((n) => n.opType === opType);
}

/** The model as `model.onnx` and the samples of its one input stacked as `calib.npy` in `dir`, for the CLI. */
export function writeCliInputs(dir: string, model: ModelProto, samples: Sample[]): { model: string; calib: string } {
  const files = { model: path.join(dir, 'model.onnx'), calib: path.join(dir, 'calib.npy') };
  fs.writeFileSync(files.model, toBinary(ModelProtoSchema, model));
  writeNpy(files.calib, Object.values(concatSamples(samples))[0]!);
  return files;
}
