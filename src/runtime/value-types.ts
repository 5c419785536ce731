/**
 * Element type and shape of every value in the top-level graph, measured by one onnxruntime run
 * that exposes all intermediates. Exports such as PaddleOCR's carry no value_info at all, and
 * onnxq needs to know which values are float tensors before it can plan their quantization.
 */
import type { ModelProto } from 'onnx-buf';
import { onnxTypeFromOrt } from '../onnx/dtype.js';
import type { ValueType } from '../ir/types.js';
import type { Sample } from '../data/source.js';
import { Runner, type RunnerOptions } from './runner.js';

export async function measureValueTypes(model: ModelProto, sample: Sample, options: RunnerOptions = {}): Promise<Map<string, ValueType>> {
  const graph = model.graph!;
  const names = new Set<string>();
  for (const n of graph.node) for (const o of n.output) if (o) names.add(o);
  const runner = await Runner.create(model, { ...options, optimization: 'disabled', extraOutputs: [...names] });
  try {
    const outputs = await runner.run(sample);
    const types = new Map<string, ValueType>();
    for (const [name, t] of Object.entries(outputs)) types.set(name, { dtype: onnxTypeFromOrt(t.dtype), shape: t.dims });
    for (const [name, t] of Object.entries(sample)) types.set(name, { dtype: onnxTypeFromOrt(t.dtype), shape: t.dims });
    return types;
  } finally {
    await runner.release();
  }
}
