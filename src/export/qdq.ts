/**
 * QDQ export: writes the plan into the graph as QuantizeLinear/DequantizeLinear pairs.
 * Weights are stored quantized (int8 + DequantizeLinear, no float copy), biases as int32 with scale
 * s_input·s_weight, activations as QuantizeLinear → DequantizeLinear right after the op that produces
 * them, so that ONNX Runtime fuses DQ → op → Q groups into integer kernels (QLinearConv, …).
 * Graph input and output names and their order stay as they were.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { allocate, DT } from '../onnx/dtype.js';
import { makeTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { opsetVersion, setOpsetVersion } from '../ir/model.js';
import { attrFloat, getAttr, makeNode } from '../ir/node.js';
import { quantizeBias } from '../quant/bias.js';
import type { QuantParams } from '../quant/params.js';
import { quantizeArray } from '../quant/quantize.js';
import { roundHalfEven } from '../quant/round.js';
import { bitsOf, onnxType, typeRange } from '../quant/spec.js';
import { activationOrder, activationParams, isQuantized, weightParams, type FoldEntry, type QuantPlan } from '../plan/plan.js';

export interface ExportReport {
  quantizedActivations: number;
  quantizedWeights: number;
  quantizedBiases: number;
  foldedActivations: string[];
  /** Folds the plan asked for but that would not have been exact with the final ranges. */
  keptActivations: string[];
}

const MS_DOMAIN = 'com.microsoft';

type ParamsByName = Map<string, QuantParams>;

/** Writes a resolved plan into `graph`, the graph of `model` (pass a copy: both are edited in place). */
export function exportQdq(graph: Graph, model: ModelProto, plan: QuantPlan): ExportReport {
  const report: ExportReport = { quantizedActivations: 0, quantizedWeights: 0, quantizedBiases: 0, foldedActivations: [], keptActivations: [] };
  const weights: ParamsByName = new Map(Object.entries(plan.weights).flatMap(([name, e]) => (isQuantized(e) ? [[name, weightParams(e)] as const] : [])));
  // Each tensor that shares its parameters comes after the one it shares them with, as they were resolved.
  const activations: ParamsByName = new Map(activationOrder(plan).flatMap((name) => (isQuantized(plan.activations[name]!) ? [[name, activationParams(plan.activations[name]!)] as const] : [])));
  const qdq = new QdqWriter(graph, qdqDomain(model, [...activations.values(), ...weights.values()]));
  applyFolds(graph, plan.folded, activations, report);
  writeBiases(graph, qdq, plan, activations, weights, report);
  writeWeights(graph, qdq, weights, report);
  for (const [name, p] of activations) {
    const at = plan.activations[name]?.at;
    if (at) for (const use of at) qdq.quantizeUse(name, use.node, use.input, p);
    else qdq.quantizeEverywhere(name, p);
    report.quantizedActivations++;
  }
  graph.removeUnused();
  graph.sort();
  return report;
}

/** The domain of the Q/DQ nodes: standard, except 16-bit ones below opset 21, which onnxruntime offers in its own. */
function qdqDomain(model: ModelProto, params: QuantParams[]): string {
  const opset = opsetVersion(model);
  if (params.some((p) => p.spec.axis !== undefined) && opset < 13)
    fail('BAD_MODEL', `per-channel QuantizeLinear/DequantizeLinear needs opset 13, the model is at opset ${opset}; upgrade the model first.`);
  if (!params.some((p) => bitsOf(p.spec.dtype) === 16) || opset >= 21) return '';
  if (!model.opsetImport.some((o) => o.domain === MS_DOMAIN)) setOpsetVersion(model, MS_DOMAIN, 1);
  return MS_DOMAIN;
}

/** A folded Relu's output that is not a graph output disappears; its input carries its parameters. */
function applyFolds(graph: Graph, folds: FoldEntry[], activations: ParamsByName, report: ExportReport): void {
  for (const fold of folds) {
    const p = activations.get(fold.output);
    if (p && foldIsExact(graph, fold, p)) {
      removeFolded(graph, fold);
      if (!graph.isGraphOutput(fold.output)) {
        activations.delete(fold.output);
        activations.set(fold.input, p);
      }
      report.foldedActivations.push(fold.node);
    } else if (p) {
      // Not exact with these parameters: the Relu/Clip stays, and the producer's output is quantized with
      // the same parameters too, so that it still ends in an integer kernel (QLinearConv …).
      activations.set(fold.input, p);
      report.keptActivations.push(fold.node);
    }
  }
}

/** Biases as int32 with scale s_input·s_weight(·β), where both the input and the weight are quantized. */
function writeBiases(graph: Graph, qdq: QdqWriter, plan: QuantPlan, activations: ParamsByName, weights: ParamsByName, report: ExportReport): void {
  // A folded Relu's output shares its producer's parameters: a bias finds them under either name.
  const foldedFrom = new Map(plan.folded.map((f) => [f.output, f.input]));
  for (const [biasName, bias] of Object.entries(plan.biases)) {
    const input = activations.get(bias.input) ?? activations.get(foldedFrom.get(bias.input) ?? '');
    const weight = weights.get(bias.weight);
    const node = graph.node(bias.node);
    const tensor = graph.constant(biasName);
    if (!input || !weight || !node || !tensor) continue;
    const q = quantizeBias(readFloat32(tensor), input.scale[0]!, weight.scale, bias.beta ?? 1);
    const perChannel = q.scale.length > 1;
    const out = qdq.dequantizeConstant(biasName, `${biasName}_quantized`, makeTensor('', DT.INT32, tensorDims(tensor), q.data), q.scale, new Int32Array(q.scale.length), DT.INT32, perChannel ? 0 : undefined);
    node.input.forEach((i, k) => i === biasName && graph.setInput(node, k, out));
    report.quantizedBiases++;
  }
}

/** Weights stored quantized, read through a DequantizeLinear (no float copy left). */
function writeWeights(graph: Graph, qdq: QdqWriter, weights: ParamsByName, report: ExportReport): void {
  for (const [name, p] of weights) {
    const tensor = graph.constant(name);
    if (!tensor) continue;
    const dims = tensorDims(tensor);
    const q = quantizeArray(readFloat32(tensor), dims, p);
    const dtype = onnxType(p.spec.dtype);
    const out = qdq.dequantizeConstant(name, `${name}_quantized`, makeTensor('', dtype, dims, q), p.scale, p.zeroPoint, dtype, p.spec.axis);
    graph.replaceUses(name, out);
    report.quantizedWeights++;
  }
}

/**
 * Removing Relu/Clip(lo, hi) before QuantizeLinear is exact when QuantizeLinear already sends lo to
 * qmin and hi to qmax: it is monotonic, so every value beyond a bound then lands where the clipped
 * value would. (Checked on the stored float32 scale, not on the real-valued range, which rounding
 * may move by an ulp.)
 */
function foldIsExact(graph: Graph, fold: FoldEntry, p: QuantParams): boolean {
  const node = graph.node(fold.node);
  if (!node) return false;
  const { qmin, qmax } = typeRange(p.spec.dtype);
  const s = p.scale[0]!;
  const z = p.zeroPoint[0]!;
  const quantized = (v: number) => Math.min(qmax, Math.max(qmin, roundHalfEven(Math.fround(v / s)) + z));
  let lo = 0;
  let hi = Infinity;
  if (node.opType === 'Clip') {
    if (getAttr(node, 'min') || getAttr(node, 'max')) {
      lo = attrFloat(node, 'min', -Infinity);
      hi = attrFloat(node, 'max', Infinity);
    } else {
      const min = node.input[1] ? graph.constant(node.input[1]) : undefined;
      const max = node.input[2] ? graph.constant(node.input[2]) : undefined;
      if ((node.input[1] && !min) || (node.input[2] && !max)) return false;
      lo = min ? readFloat32(min)[0]! : -Infinity;
      hi = max ? readFloat32(max)[0]! : Infinity;
    }
  }
  return (lo === -Infinity || quantized(lo) === qmin) && (hi === Infinity || quantized(hi) === qmax);
}

function removeFolded(graph: Graph, fold: FoldEntry): void {
  const node = graph.node(fold.node)!;
  const producer = graph.producer(fold.input)!;
  graph.removeNode(node);
  if (graph.isGraphOutput(fold.output)) {
    // Keep the output's name: the producer writes it directly.
    graph.setOutput(producer, producer.output.indexOf(fold.input), fold.output);
  } else graph.replaceUses(fold.output, fold.input);
}

/** Writes Q/DQ nodes and their scale/zero-point initializers with unique, readable names. */
class QdqWriter {
  constructor(
    private readonly graph: Graph,
    private readonly domain: string,
  ) {}

  private params(base: string, scale: Float32Array, zeroPoint: ArrayLike<number>, zpType: number, perAxis: boolean): [string, string] {
    const s = this.graph.uniqueName(`${base}_scale`);
    const z = this.graph.uniqueName(`${base}_zero_point`);
    const dims = perAxis ? [scale.length] : [];
    this.graph.addInitializer(makeTensor(s, DT.FLOAT, dims, perAxis ? scale : scale.subarray(0, 1)));
    const zp = allocate(zpType, zeroPoint.length) as Int32Array;
    zp.set(zeroPoint);
    this.graph.addInitializer(makeTensor(z, zpType, dims, perAxis ? zp : zp.subarray(0, 1)));
    return [s, z];
  }

  /** A quantized constant followed by DequantizeLinear; returns the dequantized value's name. */
  dequantizeConstant(base: string, qName: string, q: ReturnType<typeof makeTensor>, scale: Float32Array, zeroPoint: ArrayLike<number>, zpType: number, axis?: number): string {
    const g = this.graph;
    q.name = g.uniqueName(qName);
    g.addInitializer(q);
    const [s, z] = this.params(base, scale, zeroPoint, zpType, axis !== undefined);
    const out = g.uniqueName(`${base}_DequantizeLinear_Output`);
    g.insertNodes([
      makeNode({
        opType: 'DequantizeLinear',
        domain: zpType === DT.INT32 ? '' : this.domain,
        name: g.uniqueName(`${base}_DequantizeLinear`),
        inputs: [q.name, s, z],
        outputs: [out],
        attrs: axis !== undefined ? { axis } : {},
      }),
    ]);
    return out;
  }

  private pair(base: string, input: string, output: string, p: QuantParams): NodeProto[] {
    const g = this.graph;
    const [s, z] = this.params(base, p.scale, p.zeroPoint, onnxType(p.spec.dtype), false);
    const q = g.uniqueName(`${base}_QuantizeLinear_Output`);
    return [
      makeNode({ opType: 'QuantizeLinear', domain: this.domain, name: g.uniqueName(`${base}_QuantizeLinear`), inputs: [input, s, z], outputs: [q] }),
      makeNode({ opType: 'DequantizeLinear', domain: this.domain, name: g.uniqueName(`${base}_DequantizeLinear`), inputs: [q, s, z], outputs: [output] }),
    ];
  }

  /** One Q/DQ pair read by every consumer (ORT shares one pair per tensor). */
  quantizeEverywhere(name: string, p: QuantParams): void {
    const g = this.graph;
    const producer = g.producer(name);
    if (g.isGraphOutput(name) && producer) {
      const pre = g.uniqueName(`${name}_QuantizeLinear_Input`);
      g.setOutput(producer, producer.output.indexOf(name), pre);
      g.insertNodes(this.pair(name, pre, name, p), producer);
      return;
    }
    const dq = g.uniqueName(`${name}_DequantizeLinear_Output`);
    const nodes = this.pair(name, name, dq, p);
    g.replaceUses(name, dq);
    g.insertNodes(nodes, producer);
  }

  /** A dedicated Q/DQ pair for one consumer input (TensorRT). */
  quantizeUse(name: string, nodeName: string, input: number, p: QuantParams): void {
    const g = this.graph;
    const node = g.node(nodeName);
    if (!node || node.input[input] !== name) return;
    const dq = g.uniqueName(`${name}_DequantizeLinear_Output`);
    g.insertNodes(this.pair(name, name, dq, p), g.producer(name));
    g.setInput(node, input, dq);
  }
}
