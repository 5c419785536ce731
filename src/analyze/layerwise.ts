/**
 * Layer-wise sensitivity: the float model with one quantized tensor at a time (an activation, with the
 * quantized model's parameters, wherever that model reads it quantized; or a weight), everything else
 * float, measured at the graph outputs — the model's sensitivity ranking, as PPQ's layerwise_error_analyse
 * (ppq/quantization/analyse/layerwise.py) and AIMET's per-layer analysis compute it per op. Per tensor,
 * because a tensor is what a plan keeps float: mixed precision acts on this ranking directly.
 *
 * One session serves every layer: each quantized input x of layer i becomes If(switch[i]) DQ(Q(x)) else x,
 * with `switch` a boolean graph input, so turning on one layer is a different feed, not a new model.
 */
import { clone, create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { loadBatch } from '../data/batch.js';
import type { CalibrationSource, Sample } from '../data/source.js';
import { NameSet } from '../ir/names.js';
import { makeNode } from '../ir/node.js';
import { makeValueInfo } from '../ir/types.js';
import { allocate, DT } from '../onnx/dtype.js';
import { int64Tensor, makeTensor } from '../onnx/tensor.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import type { DqParams, QuantizedUse } from './match.js';
import { float32Values } from './graphwise.js';
import { ErrorAccumulator, top1Matches } from './metrics.js';

export const SWITCH_INPUT = 'onnxq_layer_switch';

/**
 * What one switch quantizes: one tensor of the float model — an activation wherever the quantized model
 * reads it quantized, or a weight — so that each maps onto one entry of a quantization plan.
 */
export interface Layer {
  tensor: string;
  kind: 'activation' | 'weight';
  uses: QuantizedUse[];
}

export interface LayerError {
  layer: Layer;
  /** Over every graph output. */
  error: ErrorAccumulator;
  top1?: { matches: number; rows: number };
}

/** The quantized uses grouped by the float tensor they quantize, in the order first used. */
export function layersOf(uses: readonly QuantizedUse[]): Layer[] {
  const byTensor = new Map<string, Layer>();
  for (const u of uses) {
    const key = `${u.kind}:${u.float}`;
    let layer = byTensor.get(key);
    if (!layer) byTensor.set(key, (layer = { tensor: u.float, kind: u.kind, uses: [] }));
    layer.uses.push(u);
  }
  return [...byTensor.values()];
}

/**
 * The float model with each layer's quantization behind its switch. Weights are shared with the given
 * models (`stored` looks up the quantized model's integer constants); nodes that read a switched
 * tensor are copies, each preceded by the nodes that compute its switched inputs.
 */
export function switchableModel(floatModel: ModelProto, layers: readonly Layer[], stored: (name: string) => TensorProto | undefined): ModelProto {
  const g = floatModel.graph!;
  const names = NameSet.of(g);
  const fresh = (base: string) => names.fresh(base);
  const initializers: TensorProto[] = [];
  /** The switches' Gathers read only a graph input and constants: they go first. */
  const gathers: NodeProto[] = [];
  const replacement = new Map<NodeProto, NodeProto[]>();
  const copyOf = (n: NodeProto): NodeProto[] => {
    let nodes = replacement.get(n);
    if (!nodes) replacement.set(n, (nodes = [clone(NodeProtoSchema, n)]));
    return nodes;
  };
  layers.forEach((layer, i) => {
    const index = fresh(`${SWITCH_INPUT}_${i}_index`);
    initializers.push(int64Tensor(index, [], [i]));
    const on = fresh(`${SWITCH_INPUT}_${i}`);
    gathers.push(makeNode({ opType: 'Gather', name: fresh(`${on}_Gather`), inputs: [SWITCH_INPUT, index], outputs: [on] }));
    for (const u of layer.uses) {
      const nodes = copyOf(u.node);
      const copy = nodes[nodes.length - 1]!;
      const base = fresh(`${u.float}_layerwise`);
      const [s, z] = paramTensors(base, u.params, fresh, initializers);
      const attrs: Record<string, number> = u.params.axis !== undefined ? { axis: u.params.axis } : {};
      // The quantization sits in an If's then-branch, so that a switch that is off costs no Q/DQ run
      // (a Where would compute both sides: the whole model's Q/DQ on every run, 3–5× a float inference).
      const quantize: NodeProto[] = [];
      let q: string;
      const integer = u.stored ? stored(u.stored) : undefined;
      if (integer) {
        q = fresh(`${base}_stored`);
        initializers.push({ ...integer, name: q });
      } else {
        q = fresh(`${base}_q`);
        quantize.push(makeNode({ opType: 'QuantizeLinear', domain: u.params.domain, name: fresh(`${base}_QuantizeLinear`), inputs: [u.float, s, z], outputs: [q], attrs }));
      }
      const dq = fresh(`${base}_dq`);
      quantize.push(makeNode({ opType: 'DequantizeLinear', domain: u.params.domain, name: fresh(`${base}_DequantizeLinear`), inputs: [q, s, z], outputs: [dq], attrs }));
      const kept = fresh(`${base}_float`);
      const branch = (name: string, body: NodeProto[], out: string) => create(GraphProtoSchema, { name, node: body, output: [makeValueInfo(out, { dtype: DT.FLOAT })] });
      const selected = fresh(`${base}_selected`);
      const choose = makeNode({
        opType: 'If',
        name: fresh(`${base}_If`),
        inputs: [on],
        outputs: [selected],
        attrs: {
          then_branch: branch(`${base}_quantized`, quantize, dq),
          else_branch: branch(`${base}_kept`, [makeNode({ opType: 'Identity', name: fresh(`${base}_Identity`), inputs: [u.float], outputs: [kept] })], kept),
        },
      });
      copy.input[u.input] = selected;
      nodes.splice(nodes.length - 1, 0, choose);
    }
  });
  // 16-bit pairs below opset 21 are onnxruntime's own (com.microsoft), as the quantized model has them.
  const domains = new Set(layers.flatMap((l) => l.uses.map((u) => u.params.domain)).filter((d) => d && !floatModel.opsetImport.some((o) => o.domain === d)));
  return create(ModelProtoSchema, {
    ...floatModel,
    opsetImport: [...floatModel.opsetImport, ...[...domains].map((domain) => create(OperatorSetIdProtoSchema, { domain, version: 1n }))],
    graph: create(GraphProtoSchema, {
      ...g,
      node: [...gathers, ...g.node.flatMap((n) => replacement.get(n) ?? [n])],
      initializer: [...g.initializer, ...initializers],
      input: [...g.input, makeValueInfo(SWITCH_INPUT, { dtype: DT.BOOL, shape: [layers.length] })],
    }),
  });
}

function paramTensors(base: string, p: DqParams, fresh: (b: string) => string, out: TensorProto[]): [string, string] {
  const s = fresh(`${base}_scale`);
  const z = fresh(`${base}_zero_point`);
  const dims = p.axis !== undefined ? [p.scale.length] : [];
  out.push(makeTensor(s, DT.FLOAT, dims, p.axis !== undefined ? p.scale : p.scale.subarray(0, 1)));
  const zp = p.axis !== undefined ? p.zeroPoint : p.zeroPoint.subarray(0, 1);
  const values = allocate(p.dtype, zp.length) as Int32Array;
  values.set(zp);
  out.push(makeTensor(z, p.dtype, dims, values));
  return [s, z];
}

/**
 * Runs the switchable model once per sample with every switch off (the float model) and once per layer
 * with that layer's switch alone on, and compares the graph outputs.
 */
export async function layerwiseErrors(
  model: ModelProto,
  layers: readonly Layer[],
  source: CalibrationSource,
  indices: readonly number[],
  options: { runner?: RunnerOptions; classOutputs?: ReadonlySet<string>; onStep?: (done: number, total: number) => void } = {},
): Promise<LayerError[]> {
  const runner = await Runner.create(model, { ...options.runner, label: 'the float model with switchable quantization' });
  try {
    const results: LayerError[] = layers.map((layer) => ({ layer, error: new ErrorAccumulator(), ...(options.classOutputs?.size ? { top1: { matches: 0, rows: 0 } } : {}) }));
    const outputs = model.graph!.output.map((o) => o.name);
    const total = indices.length * (layers.length + 1);
    let done = 0;
    for (const i of indices) {
      const sample = await loadBatch(source, [i]);
      const switches = new Uint8Array(layers.length);
      const reference = await runner.run(withSwitches(sample, switches), outputs);
      options.onStep?.(++done, total);
      for (const [k, r] of results.entries()) {
        switches.fill(0);
        switches[k] = 1;
        const got = await runner.run(withSwitches(sample, switches), outputs);
        for (const name of outputs) {
          const a = float32Values(reference[name]);
          const b = float32Values(got[name]);
          if (!a || !b) continue;
          r.error.add(a, b);
          const classes = reference[name]!.dims.at(-1) ?? 0;
          if (r.top1 && options.classOutputs!.has(name) && classes > 1) {
            const m = top1Matches(a, b, classes);
            r.top1.matches += m.matches;
            r.top1.rows += m.rows;
          }
        }
        options.onStep?.(++done, total);
      }
    }
    return results;
  } finally {
    await runner.release();
  }
}

/** A sample fed with the switches (1 = that layer's tensor quantized). */
function withSwitches(sample: Sample, switches: Uint8Array): Sample {
  // onnxruntime takes booleans as one byte each.
  return { ...sample, [SWITCH_INPUT]: { dtype: 'bool', dims: [switches.length], data: switches as unknown as Float32Array } };
}
