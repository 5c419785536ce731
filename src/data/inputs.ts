/**
 * The inputs a model asks its user to feed: graph inputs that are not initializers, with their element
 * types and shapes, after --input-shape fixes the free dimensions. Every calibration source is checked
 * against them, and synthetic samples follow them.
 */
import type { ModelProto, ValueInfoProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { formatShape, typeOf, type Dim } from '../ir/types.js';
import { DT, ortTypeName } from '../onnx/dtype.js';
import type { ModelInput } from './source.js';

/** Graph inputs that are not initializers (old exports list weights as inputs too). */
function fedInputs(model: ModelProto): ValueInfoProto[] {
  const graph = model.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((v) => !initializers.has(v.name));
}

/** The inputs a user feeds, with --input-shape overrides applied. */
export function modelInputs(model: ModelProto, overrides: Record<string, number[]> = {}): ModelInput[] {
  const inputs = fedInputs(model).map((v) => {
    const t = typeOf(v);
    const declared = t?.shape;
    const given = overrides[v.name];
    if (given && declared) {
      // --input-shape fixes the free dimensions; the rank and the fixed ones are the model's.
      const clash = given.length !== declared.length || declared.some((d, i) => typeof d === 'number' && d !== given[i]);
      if (clash)
        fail(
          'BAD_OPTION',
          `--input-shape ${v.name}=${given.join(',')} does not fit the input, which is ${formatShape(declared)}: give ${declared.length} dimensions and keep the fixed ones.`,
        );
    }
    const shape: Dim[] = given ?? declared ?? [];
    return { name: v.name, dtype: ortTypeName(t?.dtype ?? DT.FLOAT), shape };
  });
  for (const name of Object.keys(overrides))
    if (!inputs.some((i) => i.name === name))
      fail('BAD_OPTION', `--input-shape names '${name}', but the model's inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}.`);
  return inputs;
}

/** True when every input's first dimension is free, so that samples can be stacked into one run. */
export function batchable(model: ModelProto): boolean {
  return fedInputs(model).every((v) => {
    const d = typeOf(v)?.shape?.[0];
    return d === null || typeof d === 'string';
  });
}
