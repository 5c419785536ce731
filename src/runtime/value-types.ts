/**
 * Element type and shape of every value in the top-level graph: from the model's own declarations
 * (graph inputs, outputs, value_info) where they give an element type and a fully static shape, and
 * for every other value from one onnxruntime session that exposes it: its shape inference where that
 * settles the shape, else one run. Exports such as PaddleOCR's carry
 * no value_info at all, and onnxq needs to know which values are float tensors, and their sizes,
 * before it can plan their quantization. Declarations count only when the graph inputs are declared
 * with the very shapes of the sample, so that a static shape further down is the one the run would have.
 */
import type { GraphProto, ModelProto, ValueInfoProto } from 'onnx-buf';
import { onnxTypeFromOrt } from '../onnx/dtype.js';
import { makeValueInfo, typeOf, type ValueType } from '../ir/types.js';
import type { Sample } from '../data/source.js';
import { Runner, type RunnerOptions } from './runner.js';

/** `options.add`: nodes to run beside the model's own, whose outputs are measured too. */
export async function measureValueTypes(model: ModelProto, sample: Sample, options: RunnerOptions = {}): Promise<Map<string, ValueType>> {
  const graph = model.graph!;
  const types = new Map<string, ValueType>();
  for (const [name, t] of Object.entries(sample)) types.set(name, { dtype: onnxTypeFromOrt(t.dtype), shape: t.dims });
  const declared = declaredTypes(model, sample);
  const missing: string[] = [];
  for (const n of [...graph.node, ...(options.add?.nodes ?? [])])
    for (const o of n.output) {
      if (!o) continue;
      const d = declared.get(o);
      if (d) types.set(o, d);
      else missing.push(o);
    }
  if (missing.length === 0) return types;
  // The inputs redeclared with the sample's shapes let onnxruntime's own inference, run as it loads the
  // model, settle most shapes; only the values it leaves open are computed and fetched.
  const add = { ...options.add, inputs: sampleInputs(graph, sample), withoutValueInfo: true as const, outputs: missing };
  const runner = await Runner.create(model, { ...options, optimization: 'disabled', add });
  try {
    const inferred = runner.inferredOutputTypes;
    const open = missing.filter((name) => {
      const t = inferred.get(name);
      if (t) types.set(name, t);
      return !t;
    });
    if (open.length === 0) return types;
    const outputs = await runner.run(sample, open);
    for (const [name, t] of Object.entries(outputs)) types.set(name, { dtype: onnxTypeFromOrt(t.dtype), shape: t.dims });
    return types;
  } finally {
    await runner.release();
  }
}

/** Each graph input the sample feeds, declared with the sample's shape where its element type is the sample's. */
function sampleInputs(graph: GraphProto, sample: Sample): ValueInfoProto[] {
  return graph.input.flatMap((v) => {
    const t = sample[v.name];
    const declared = typeOf(v);
    return t && declared?.dtype === onnxTypeFromOrt(t.dtype) ? [makeValueInfo(v.name, { dtype: declared.dtype, shape: t.dims })] : [];
  });
}

/**
 * Declared types that are complete (element type, static shape); none unless the inputs are declared
 * with the sample's element types and shapes. Within those, declarations are trusted as written.
 */
function declaredTypes(model: ModelProto, sample: Sample): Map<string, ValueType> {
  const graph = model.graph!;
  const out = new Map<string, ValueType>();
  const inputsMatch = Object.entries(sample).every(([name, t]) => {
    const d = typeOf(graph.input.find((v) => v.name === name));
    return d?.dtype === onnxTypeFromOrt(t.dtype) && d.shape !== undefined && d.shape.length === t.dims.length && d.shape.every((x, i) => x === t.dims[i]);
  });
  if (!inputsMatch) return out;
  for (const v of [...graph.valueInfo, ...graph.output]) {
    const t = typeOf(v);
    if (t && t.dtype !== 0 && t.shape?.every((d) => typeof d === 'number' && d > 0)) out.set(v.name, t);
  }
  return out;
}
