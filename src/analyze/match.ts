/**
 * Which tensor of a float model each tensor of a QDQ model stands for, by graph position, so that any
 * QDQ model can be analysed against its float model — onnxq's, or another tool's whose tensors are
 * renamed (ONNX Runtime's quantizer writes `<name>_QuantizeLinear_Output`, `<name>_DequantizeLinear_Output`).
 *
 * A QuantizeLinear → DequantizeLinear pair is transparent: its output stands for its input. Walking the
 * QDQ graph's other nodes in order, a node matches the float node of the same op type that reads the
 * matched counterparts of its data inputs at the same positions (constant inputs are weights and may
 * differ). Where the quantizer removed an op that only clips or rescales (a Relu folded into the range,
 * a BatchNormalization folded into the Conv, an Identity), the float side steps over it. A tensor with
 * no structural counterpart falls back to the float tensor of the same name, if there is one.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { attrInt } from '../ir/node.js';
import { DT } from '../onnx/dtype.js';
import { readFloat32, readInts, tensorDims } from '../onnx/tensor.js';

/** The parameters of one DequantizeLinear: x = (q − zeroPoint)·scale, per tensor or along `axis`. */
export interface DqParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** ONNX element type of the integer values (INT8, UINT8, INT16 …). */
  dtype: number;
  axis?: number;
  /** The domain of the DequantizeLinear: '' or com.microsoft (16-bit pairs below opset 21). */
  domain: string;
}

/** A quantized input of a QDQ node, with what it stands for in the float model. */
export interface QuantizedUse {
  /** The float model's node and input position it corresponds to. */
  node: NodeProto;
  input: number;
  /** 'activation': a QuantizeLinear → DequantizeLinear pair; 'weight': a stored integer constant. */
  kind: 'activation' | 'weight';
  /** The float tensor (activation) or float constant (weight) of the float model. */
  float: string;
  /** The DequantizeLinear output in the QDQ model that the node reads. */
  dequantized: string;
  params: DqParams;
  /** Weights stored as integers: the constant's name in the QDQ model (absent for a float weight behind Q → DQ). */
  stored?: string;
}

export interface Correspondence {
  /** Quantized inputs of matched nodes, in the QDQ model's node order. */
  uses: QuantizedUse[];
  /** Quantized activations: QDQ model's DequantizeLinear output → its float tensor and parameters. */
  activations: Map<string, { float: string; params: DqParams }>;
  /** The QDQ model's tensors (pair inputs) behind the matched activations. */
  matchedSources: Set<string>;
  /** Quantized activations of the QDQ model with no counterpart in the float model. */
  unmatched: string[];
  /** Float nodes matched by a QDQ node. */
  matchedNodes: number;
}

/** Ops a quantizer may fold away (into a range, a weight, or nothing): the float side steps over them. */
const FOLDABLE = new Set(['Relu', 'Clip', 'BatchNormalization', 'Identity', 'Dropout']);

export function matchModels(floatModel: ModelProto, qdqModel: ModelProto, labels = { float: 'the float model', qdq: 'the quantized model' }): Correspondence {
  const fg = new Graph(floatModel.graph!);
  const qg = new Graph(qdqModel.graph!);
  const floatNames = new Set([...fg.inputs.map((v) => v.name), ...fg.nodes.flatMap((n) => n.output)]);
  checkInterface(fg, qg, labels);

  /** QDQ tensor → the QDQ tensor it stands for (a pair's output → the pair's input). */
  const pairSource = (name: string): string => {
    const dq = qg.producer(name);
    if (dq?.opType !== 'DequantizeLinear') return name;
    const q = qg.producer(dq.input[0]!);
    return q?.opType === 'QuantizeLinear' ? pairSource(q.input[0]!) : name;
  };
  /** Op types that read a QDQ tensor, looking through the Q/DQ pairs after it. */
  const readers = (name: string, out = new Set<string>()): Set<string> => {
    for (const c of qg.consumers(name)) {
      if (c.opType === 'QuantizeLinear') for (const dq of qg.consumers(c.output[0]!)) readers(dq.output[0]!, out);
      else out.add(c.opType);
    }
    return out;
  };
  /**
   * From a float tensor, over ops the QDQ model folded away: while its one reader is a foldable op whose
   * type reads the QDQ tensor nowhere (through its Q/DQ pairs), the float side moves past it.
   */
  const stepOver = (f: string, q: string): string => {
    const kept = readers(q);
    for (;;) {
      const next = fg.consumers(f);
      if (next.length !== 1 || fg.isGraphOutput(f)) return f;
      const c = next[0]!;
      if (!FOLDABLE.has(c.opType) || kept.has(c.opType) || c.input[0] !== f) return f;
      f = c.output[0]!;
    }
  };

  const toFloat = new Map<string, string>();
  for (const v of fg.inputs) toFloat.set(v.name, v.name); // the same names: checkInterface() made sure
  const taken = new Set<NodeProto>();
  const nodeOf = new Map<NodeProto, NodeProto>();
  for (const n of qg.nodes) {
    if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') continue;
    const data = n.input.map((i) => (i && !isConstant(qg, pairSource(i)) && !isStoredWeight(qg, i) ? toFloat.get(pairSource(i)) ?? null : undefined));
    let f: NodeProto | undefined;
    if (!data.includes(null)) {
      const first = data.find((d): d is string => typeof d === 'string');
      const candidates = first ? fg.consumers(first) : [];
      f = candidates.find((c) => !taken.has(c) && c.opType === n.opType && c.domain === n.domain && data.every((d, k) => d === undefined || c.input[k] === d));
    }
    if (f) {
      taken.add(f);
      nodeOf.set(n, f);
      n.output.forEach((o, j) => o && f!.output[j] && toFloat.set(o, stepOver(f!.output[j]!, o)));
    } else for (const o of n.output) if (o && floatNames.has(o)) toFloat.set(o, stepOver(o, o));
  }

  const uses: QuantizedUse[] = [];
  const activations = new Map<string, { float: string; params: DqParams }>();
  const unmatched = new Set<string>();
  for (const n of qg.nodes) {
    n.input.forEach((name, k) => {
      const dq = name ? qg.producer(name) : undefined;
      if (dq?.opType !== 'DequantizeLinear') return;
      const f = nodeOf.get(n);
      const params = dqParams(qg, dq);
      if (isStoredWeight(qg, name)) {
        const floatWeight = f?.input[k];
        const stored = qg.constant(dq.input[0]!)!;
        const w = floatWeight ? fg.constant(floatWeight) : undefined;
        if (f && floatWeight && w && sameDims(tensorDims(w), tensorDims(stored)) && params)
          uses.push({ node: f, input: k, kind: 'weight', float: floatWeight, dequantized: name, params, stored: stored.name });
        return;
      }
      const source = pairSource(name);
      if (source === name || !params) return; // a DequantizeLinear fed by something else than a QuantizeLinear
      if (isConstant(qg, source)) {
        // A float weight quantized in the graph (Q → DQ on the initializer), as PyTorch and NNCF export them.
        const floatWeight = f?.input[k];
        const w = floatWeight ? fg.constant(floatWeight) : undefined;
        if (f && floatWeight && w && sameDims(tensorDims(w), tensorDims(qg.constant(source)!)))
          uses.push({ node: f, input: k, kind: 'weight', float: floatWeight, dequantized: name, params });
        return;
      }
      const floatTensor = toFloat.get(source);
      if (!floatTensor) {
        unmatched.add(source);
        return;
      }
      activations.set(name, { float: floatTensor, params });
      if (f && f.input[k] === floatTensor) uses.push({ node: f, input: k, kind: 'activation', float: floatTensor, dequantized: name, params });
    });
  }
  // Graph outputs quantized in place keep their name behind a pair of their own.
  for (const o of qg.outputs) {
    const dq = qg.producer(o.name);
    const params = dq?.opType === 'DequantizeLinear' ? dqParams(qg, dq) : undefined;
    const source = pairSource(o.name);
    const floatTensor = toFloat.get(source);
    if (params && source !== o.name && floatTensor) activations.set(o.name, { float: floatTensor, params });
  }
  const matchedSources = new Set([...activations.keys()].map(pairSource));
  return { uses, activations, matchedSources, unmatched: [...unmatched], matchedNodes: taken.size };
}

/**
 * Throws unless the two models could be float and quantized versions of one network: the same inputs
 * and outputs, and the quantized tensor nearest the inputs, at least, has a counterpart.
 */
export function checkCorrespondence(c: Correspondence, qdqModel: ModelProto, labels = { float: 'the float model', qdq: 'the quantized model' }): void {
  const quantized = c.activations.size + c.unmatched.length;
  if (quantized === 0 && c.uses.length === 0)
    fail('BAD_MODEL', `${labels.qdq} has no QuantizeLinear/DequantizeLinear pairs and no dequantized weights: there is nothing quantized to analyse. Give a QDQ model (onnxq quantize writes one).`);
  const first = firstInOrder(qdqModel, c.unmatched);
  if (first !== undefined && (c.activations.size < c.unmatched.length || c.activations.size === 0 || isNearInputs(qdqModel, first, c)))
    fail(
      'BAD_MODEL',
      `${labels.float} and ${labels.qdq} do not correspond: the quantized tensor '${first}' has no counterpart in the float model ` +
        `(${c.activations.size} of ${quantized} quantized tensors matched). Give the float model the quantized one was made from.`,
    );
}

function checkInterface(fg: Graph, qg: Graph, labels: { float: string; qdq: string }): void {
  // Both models are fed the same samples, by input name.
  const fIn = fg.inputs.map((v) => v.name);
  const qIn = qg.inputs.map((v) => v.name);
  const missingInput = qIn.find((n) => !fIn.includes(n)) ?? fIn.find((n) => !qIn.includes(n));
  if (missingInput !== undefined)
    fail('BAD_MODEL', `${labels.float} has the inputs ${fIn.join(', ')} and ${labels.qdq} ${qIn.join(', ')}: the input '${missingInput}' is not in both, so the two cannot be fed the same samples. Give the float model the quantized one was made from (with its input names).`);
  const fOut = new Set(fg.outputs.map((v) => v.name));
  const missing = qg.outputs.find((o) => !fOut.has(o.name));
  if (missing)
    fail('BAD_MODEL', `${labels.qdq}'s output '${missing.name}' is not an output of ${labels.float} (${[...fOut].join(', ')}): they do not correspond. Give the float model the quantized one was made from.`);
}

function isConstant(g: Graph, name: string): boolean {
  return !!g.constant(name);
}

/** A DequantizeLinear of a stored integer constant: a quantized weight or bias. */
function isStoredWeight(g: Graph, name: string): boolean {
  const dq = g.producer(name);
  return dq?.opType === 'DequantizeLinear' && !!g.constant(dq.input[0]!);
}

function dqParams(g: Graph, dq: NodeProto): DqParams | undefined {
  const s = g.constant(dq.input[1]!);
  if (!s) return undefined;
  const z = dq.input[2] ? g.constant(dq.input[2]) : undefined;
  if (dq.input[2] && !z) return undefined;
  const x = g.constant(dq.input[0]!);
  const dtype = z?.dataType ?? x?.dataType ?? quantizeOutputType(g, dq) ?? DT.UINT8;
  const scale = readFloat32(s);
  const zeroPoint = z ? Int32Array.from(readInts(z)) : new Int32Array(scale.length);
  const axis = scale.length > 1 ? attrInt(dq, 'axis', 1) : undefined;
  return { scale, zeroPoint, dtype, ...(axis !== undefined ? { axis } : {}), domain: dq.domain };
}

/** A pair without zero point: the element type QuantizeLinear's `output_dtype` (opset 21) names, if any. */
function quantizeOutputType(g: Graph, dq: NodeProto): number | undefined {
  const q = g.producer(dq.input[0]!);
  return q?.opType === 'QuantizeLinear' ? attrInt(q, 'output_dtype') || undefined : undefined;
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function firstInOrder(model: ModelProto, names: string[]): string | undefined {
  if (names.length === 0) return undefined;
  const set = new Set(names);
  for (const i of model.graph!.input) if (set.has(i.name)) return i.name;
  for (const n of model.graph!.node) for (const o of n.output) if (set.has(o)) return o;
  return names[0];
}

/** Whether the unmatched tensor comes before every matched one: then nothing upstream explains it. */
function isNearInputs(model: ModelProto, name: string, c: Correspondence): boolean {
  const matchedSources = c.matchedSources;
  for (const i of model.graph!.input) if (i.name === name) return true;
  for (const i of model.graph!.input) if (matchedSources.has(i.name)) return false;
  for (const n of model.graph!.node) {
    for (const o of n.output) {
      if (o === name) return true;
      if (matchedSources.has(o)) return false;
    }
  }
  return false;
}
