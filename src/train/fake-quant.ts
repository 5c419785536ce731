/**
 * Fake quantization for training: insertFakeQuant puts a FakeQuantize node (backward/fake-quantize.ts:
 * x̂ = (clip(round(x/s) + z, qmin, qmax) − z)·s, straight-through gradient for x, LSQ's for s) on each
 * chosen tensor — weights per tensor or per channel, activations per tensor — with its scale a new
 * initializer to train. Initial weight scales follow LSQ (Esser et al. 2020, §2.1): s = 2⟨|w|⟩/√qmax,
 * per scale group; activation scales come from calibration. LSQ's gradient scale g = 1/√(N·qmax), N the
 * number of values sharing the scale (for activations: per sample). inferenceModel() lowers the nodes to
 * standard ops, so that onnxruntime can run the fake-quantized model for evaluation.
 */
import { cloneModel } from '../onnx/external.js';
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { floatTensor, numel, readFloat32, tensorDims } from '../onnx/tensor.js';
import { forEachChannelRun } from '../quant/quantize.js';
import { makeAttr, makeNode } from '../ir/node.js';
import { NameSet } from '../ir/names.js';
import { opsetVersion } from '../ir/model.js';
import type { Sample } from '../data/source.js';
import { upgradeOpset } from '../passes/upgrade-opset/index.js';
import { measureValueTypes } from '../runtime/value-types.js';
import { Emitter } from './emit.js';
import { FAKE_QUANT_DOMAIN, FAKE_QUANT_OP, isFakeQuant, lowerFakeQuant } from './backward/fake-quantize.js';

export interface FakeQuantSpec {
  /** The tensor to quantize: an initializer (weight) or any float value (activation). */
  tensor: string;
  bits: number;
  /** Signed integers (default true). */
  signed?: boolean;
  /** Signed and symmetric: −(2^(b−1) − 1) … 2^(b−1) − 1 rather than from −2^(b−1) (default true). */
  narrow?: boolean;
  /** Per channel along this axis (weights only); per tensor when unset. */
  axis?: number;
  /** Initial scale(s); required for activations, LSQ's initialisation for weights when unset. */
  scale?: number | Float32Array;
  /** Zero point(s), one per scale (default 0): not trained. */
  zeroPoint?: number | Float32Array;
  /** The integer range, when it is not the one `bits`/`signed`/`narrow` give (a plan's reduced range). */
  range?: [number, number];
  /** Use the scale and zero point of the spec for this tensor (earlier in the list): one parameter, trained by both. */
  shareWith?: string;
  /** Quantize only where these nodes read the tensor (a plan's `at`); everywhere when unset. */
  readers?: { node: string; input: number }[];
  /** LSQ's g; 1/√(N·qmax) when unset. */
  gradScale?: number;
}

export interface FakeQuantized {
  model: ModelProto;
  /** Per spec (in order), the name of its scale initializer, to train. */
  scales: string[];
  /** The shapes given, with the new values' added. */
  shapes: Map<string, number[]>;
}

export function quantRange(spec: Pick<FakeQuantSpec, 'bits' | 'signed' | 'narrow' | 'range'>): [number, number] {
  if (spec.range) return spec.range;
  const b = spec.bits;
  if (!Number.isInteger(b) || b < 2 || b > 16) fail('BAD_OPTION', `fake quantization to ${b} bits: bits must be an integer from 2 to 16.`);
  if (spec.signed === false) return [0, 2 ** b - 1];
  return [spec.narrow === false ? -(2 ** (b - 1)) : -(2 ** (b - 1) - 1), 2 ** (b - 1) - 1];
}

/** `shapes`: static shapes of the model's values (measureShapes), needed for activations. */
export function insertFakeQuant(source: ModelProto, specs: FakeQuantSpec[], shapes: Map<string, number[]>): FakeQuantized {
  const model = cloneModel(source);
  const graph = model.graph!;
  if (!model.opsetImport.some((o) => o.domain === FAKE_QUANT_DOMAIN))
    model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: FAKE_QUANT_DOMAIN, version: 1n }));
  const out = new Map(shapes);
  const names = NameSet.of(graph);
  const weights = new Map(graph.initializer.map((t) => [t.name, t]));
  const readers = new Map<string, NodeProto[]>();
  for (const n of graph.node) for (const i of new Set(n.input)) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
  const before = new Map<NodeProto, NodeProto[]>();
  const after = new Map<NodeProto, NodeProto[]>();
  /** Per quantized tensor, its scale and zero point initializers (for shareWith). */
  const params = new Map<string, string[]>();
  const scales = specs.map((spec) => {
    const x = spec.tensor;
    const weight = weights.get(x);
    const dims = weight ? tensorDims(weight) : out.get(x);
    if (!dims) fail('BAD_OPTION', `cannot fake-quantize '${x}': it is not a weight of the model and its shape was not measured.`);
    const uses = (readers.get(x) ?? []).filter((r) => !spec.readers || spec.readers.some((u) => u.node === r.name));
    // A graph output the plan quantizes (a detector's map after its last Conv): its producer writes a
    // float copy and the FakeQuantize writes the output, which its readers, if any, then read quantized.
    const producer = !weight && !spec.readers && graph.output.some((o) => o.name === x) ? graph.node.find((n) => n.output.includes(x)) : undefined;
    if (!uses.length && !producer) fail('BAD_OPTION', `cannot fake-quantize '${x}': no node reads it${spec.readers ? ' among the readers given' : ''}.`);
    const [qmin, qmax] = quantRange(spec);
    let inputs = spec.shareWith === undefined ? undefined : params.get(spec.shareWith);
    if (spec.shareWith !== undefined && !inputs) fail('BAD_OPTION', `fake quantization of '${x}' shares the scale of '${spec.shareWith}', which is not quantized before it.`);
    let perScale: number;
    if (!inputs) {
      const axis = spec.axis === undefined ? undefined : spec.axis < 0 ? spec.axis + dims.length : spec.axis;
      if (axis !== undefined && !weight) fail('BAD_OPTION', `cannot fake-quantize activation '${x}' per channel: onnxq trains one scale per activation tensor.`);
      const scaleDims = axis === undefined ? [] : dims.map((d, i) => (i === axis ? d : 1));
      const groups = numel(scaleDims);
      let scale: Float32Array;
      if (spec.scale !== undefined) scale = typeof spec.scale === 'number' ? new Float32Array(groups).fill(spec.scale) : Float32Array.from(spec.scale);
      else if (weight) scale = lsqInit(readFloat32(weight), dims, axis, qmax);
      else fail('BAD_OPTION', `cannot fake-quantize activation '${x}' without an initial scale: calibrate it first.`);
      if (scale.length !== groups) fail('BAD_OPTION', `fake quantization of '${x}': ${scale.length} scales given, ${groups} needed.`);
      perScale = weight ? numel(dims) / groups : numel(dims.slice(1));
      const s = names.fresh(`${x}_scale`);
      graph.initializer.push(floatTensor(s, scaleDims, scale));
      out.set(s, scaleDims);
      inputs = [s];
      const zero = typeof spec.zeroPoint === 'number' ? new Float32Array(groups).fill(spec.zeroPoint) : spec.zeroPoint;
      if (zero?.some((v) => v !== 0)) {
        if (zero.length !== groups) fail('BAD_OPTION', `fake quantization of '${x}': ${zero.length} zero points given, ${groups} needed.`);
        const z = names.fresh(`${x}_zero_point`);
        graph.initializer.push(floatTensor(z, scaleDims, zero));
        inputs.push(z);
      }
      params.set(x, inputs);
    } else perScale = numel(weight ? dims : dims.slice(1));
    const g = spec.gradScale ?? 1 / Math.sqrt(perScale * qmax);
    const [from, y] = producer ? [names.fresh(`${x}_float`), x] : [x, names.fresh(`${x}_fq`)];
    out.set(producer ? from : y, dims);
    const node = makeNode({ opType: FAKE_QUANT_OP, domain: FAKE_QUANT_DOMAIN, name: names.fresh(`${x}/fake_quantize`), inputs: [from, ...inputs], outputs: [y] });
    node.attribute.push(makeAttr('qmin', qmin), makeAttr('qmax', qmax), makeAttr('grad_scale', g, 'float'));
    if (producer) {
      producer.output = producer.output.map((o) => (o === x ? from : o));
      after.set(producer, [...(after.get(producer) ?? []), node]);
      return inputs[0]!;
    }
    for (const r of uses) r.input = r.input.map((i, k) => (i === x && (!spec.readers || spec.readers.some((u) => u.node === r.name && u.input === k)) ? y : i));
    before.set(uses[0]!, [...(before.get(uses[0]!) ?? []), node]);
    return inputs[0]!;
  });
  graph.node = graph.node.flatMap((n) => [...(before.get(n) ?? []), n, ...(after.get(n) ?? [])]);
  return { model, scales, shapes: out };
}

/** LSQ's initial step size, per scale group: 2·mean|w|/√qmax. */
function lsqInit(w: Float32Array, dims: number[], axis: number | undefined, qmax: number): Float32Array {
  const sums = new Float64Array(axis === undefined ? 1 : dims[axis]!);
  forEachChannelRun(dims, axis, (c, start, end) => {
    for (let i = start; i < end; i++) sums[c] += Math.abs(w[i]!);
  });
  const per = w.length / sums.length;
  return Float32Array.from(sums, (sum) => Math.max((2 * sum) / per / Math.sqrt(qmax), 1e-8));
}

/** The model with every FakeQuantize lowered to standard ops: what onnxruntime runs to evaluate it. */
export function inferenceModel(source: ModelProto): ModelProto {
  if (!source.graph!.node.some(isFakeQuant)) return source;
  const model = cloneModel(source);
  model.opsetImport = model.opsetImport.filter((o) => o.domain !== FAKE_QUANT_DOMAIN);
  if (opsetVersion(model) < 11) upgradeOpset(model, 13); // Clip's bounds as inputs
  const graph = model.graph!;
  const em = new Emitter(NameSet.of(graph), new Map(), opsetVersion(model));
  graph.node = graph.node.flatMap((n) => {
    if (!isFakeQuant(n)) return [n];
    const start = em.nodes.length;
    lowerFakeQuant(n, em);
    return em.nodes.splice(start);
  });
  graph.initializer.push(...em.initializers);
  return model;
}

/** The static shape of every value of `model` (fake quantization lowered) on one batch. */
export async function measureShapes(model: ModelProto, batch: Sample): Promise<Map<string, number[]>> {
  const types = await measureValueTypes(inferenceModel(model), batch);
  const shapes = new Map<string, number[]>();
  for (const [name, t] of types) if (t.shape?.every((d) => typeof d === 'number')) shapes.set(name, t.shape as number[]);
  return shapes;
}
