/**
 * Dynamic quantization: weights quantized offline, activations at run time. A MatMul or Gemm with a
 * constant weight becomes DynamicQuantizeLinear (uint8 activation, its scale and zero point computed
 * per run) → MatMulInteger → Cast → × (s_activation · s_weight) [+ bias]; a Conv becomes the same
 * around ConvInteger (ORT's quantize_dynamic, onnxruntime/python/tools/quantization/quantize.py and its
 * IntegerOps registry). onnxruntime fuses the MatMul form into
 * DynamicQuantizeMatMul / MatMulIntegerToFloat.
 * Weights are symmetric, per output channel by default. ORT 1.30's ConvInteger takes one weight zero
 * point only, so per-channel Conv weights share theirs (0 for int8, 127 for uint8) and carry their
 * per-channel scales in the float rescale; MatMulInteger takes a zero point per column.
 * If/Loop/Scan bodies are rewritten too (Silero VAD keeps its convolutions there).
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { DT } from '../onnx/dtype.js';
import { allFinite, floatTensor, makeTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { Graph } from '../ir/graph.js';
import { NameSet } from '../ir/names.js';
import { hasConstantWeight, Scope } from '../ir/scope.js';
import { selectorWarnings } from '../ir/select.js';
import { attrFloat, attrInt, getAttr, hasSubgraphs, isStandard, makeNode } from '../ir/node.js';
import { channelMinMax, quantizeArray } from '../quant/quantize.js';
import { paramsFromRanges } from '../quant/params.js';
import { onnxType, type QuantSpec } from '../quant/spec.js';
import { transpose2d } from '../quant/transpose.js';
import { gemmAddend } from './gemm.js';
import type { FloatNode } from '../plan/plan.js';
import { DYNAMIC_RULES } from '../plan/rules.js';

export interface DynamicOptions {
  /** int8 or uint8 weights; callers default to uint8 when the model has a Conv (onnxruntime-web has no int8 ConvInteger). */
  weightType: 'int8' | 'uint8';
  /** One scale per output channel (default) or per tensor. */
  perChannel?: boolean;
  /** Quantize only these op types (of MatMul, Gemm, Conv). */
  opTypes?: string[];
  /** Node names or op types to keep float. */
  exclude?: string[];
}

export interface OfflineReport {
  quantized: { node: string; op: string }[];
  float: FloatNode[];
  warnings: string[];
}

type Unique = (base: string) => string;

/** Names of a weight's quantized initializers. */
interface QuantizedWeight {
  q: string;
  scale: string;
  zeroPoint: string;
}

/** What the whole rewrite shares: unique naming, and each weight quantized once per form. */
interface Context {
  names: NameSet;
  unique: Unique;
  /** (scope holding the weight, its name, form) → its quantized initializers, in that scope's graph. */
  weights: Map<string, QuantizedWeight>;
}


/** Rewrites the model in place (pass a prepared copy, opset ≥ 11). */
export function exportDynamic(model: ModelProto, options: DynamicOptions): OfflineReport {
  const report: OfflineReport = { quantized: [], float: [], warnings: [] };
  // Names unique in the whole model: a subgraph may not reuse a name its enclosing graphs define.
  const names = NameSet.of(model.graph!);
  report.warnings.push(...selectorWarnings(model.graph!, options, true));
  rewriteGraph(model.graph!, undefined, options, report, { names, unique: (base) => names.fresh(base), weights: new Map() });
  return report;
}

function rewriteGraph(proto: GraphProto, parent: Scope | undefined, options: DynamicOptions, report: OfflineReport, ctx: Context): void {
  const graph = new Graph(proto, ctx.names);
  const scope = new Scope(graph, parent);
  const quantizedInputs = new Map<string, { q: string; scale: string; zeroPoint: string }>();
  const exclude = new Set(options.exclude ?? []);
  const opTypes = options.opTypes ? new Set(options.opTypes) : undefined;
  for (const node of [...graph.nodes]) {
    if (hasSubgraphs(node)) {
      for (const a of node.attribute) {
        if (a.g) rewriteGraph(a.g, scope, options, report, ctx);
        for (const g of a.graphs) rewriteGraph(g, scope, options, report, ctx);
      }
      graph.refresh(node);
    }
    const rule = isStandard(node) ? DYNAMIC_RULES[node.opType] : undefined;
    if (!rule) continue;
    const name = node.name || node.output[0]!;
    if ('float' in rule) {
      if (hasConstantWeight(scope, node)) report.float.push({ node: name, op: node.opType, reason: rule.float });
      continue;
    }
    if (exclude.has(node.name) || exclude.has(node.opType)) {
      report.float.push({ node: name, op: node.opType, reason: 'excluded' });
      continue;
    }
    if (opTypes && !opTypes.has(node.opType)) {
      report.float.push({ node: name, op: node.opType, reason: 'not in --op-types' });
      continue;
    }
    const weight = scope.lookup(node.input[rule.weight]!);
    if (!weight || weight.tensor.dataType !== DT.FLOAT) {
      report.float.push({ node: name, op: node.opType, reason: weight ? 'weight is not float32' : 'weight is computed at run time' });
      continue;
    }
    const reason = rewriteNode(graph, scope, node, weight, options, quantizedInputs, ctx);
    if (reason) report.float.push({ node: name, op: node.opType, reason });
    else report.quantized.push({ node: name, op: node.opType });
  }
  graph.removeUnused();
  graph.sort();
}

/** Replaces one node; returns why it stays float instead, if it does. */
function rewriteNode(
  graph: Graph,
  scope: Scope,
  node: NodeProto,
  weight: { tensor: TensorProto; scope: Scope; name: string },
  options: DynamicOptions,
  quantizedInputs: Map<string, QuantizedWeight>,
  ctx: Context,
): string | undefined {
  const dims = tensorDims(weight.tensor);
  if (node.opType !== 'Conv' && dims.length !== 2) return 'weight is not 2-D';
  if (node.opType === 'Conv' && dims.length < 3) return `weight is ${dims.length}-D; a convolution's weight has at least 3 dimensions`;
  if (node.opType === 'Gemm' && attrInt(node, 'transA', 0)) return 'transA = 1';
  if (!allFinite(weight.tensor)) return 'weight holds NaN or infinite values';
  const transB = node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1;
  const alpha = node.opType === 'Gemm' ? attrFloat(node, 'alpha', 1) : 1;
  const key = [weight.scope.id, weight.name, node.opType === 'Conv' ? 'conv' : transB ? 'rows' : 'columns', alpha].join('\u0000');
  let wq = ctx.weights.get(key);
  if (!wq) ctx.weights.set(key, (wq = quantizeWeight(weight.scope.graph, weight.name, node, weight.tensor, transB, alpha, options, ctx.unique)));
  const { unique } = ctx;
  const base = node.name || node.output[0]!;

  const x = node.input[0]!;
  let qx = quantizedInputs.get(x);
  const nodes: NodeProto[] = [];
  if (!qx) {
    qx = { q: unique(`${x}_quantized`), scale: unique(`${x}_scale`), zeroPoint: unique(`${x}_zero_point`) };
    quantizedInputs.set(x, qx);
    nodes.push(makeNode({ opType: 'DynamicQuantizeLinear', name: unique(`${x}_DynamicQuantizeLinear`), inputs: [x], outputs: [qx.q, qx.scale, qx.zeroPoint] }));
  }
  const integer = unique(`${base}_output_int32`);
  if (node.opType === 'Conv') {
    const attrs = Object.fromEntries(
      ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'].flatMap((k) => {
        const a = getAttr(node, k);
        return a ? [[k, k === 'auto_pad' ? new TextDecoder().decode(a.s) : k === 'group' ? Number(a.i) : a.ints.map(Number)]] : [];
      }),
    );
    nodes.push(makeNode({ opType: 'ConvInteger', name: unique(`${base}_ConvInteger`), inputs: [qx.q, wq.q, qx.zeroPoint, wq.zeroPoint], outputs: [integer], attrs }));
  } else {
    nodes.push(makeNode({ opType: 'MatMulInteger', name: unique(`${base}_MatMulInteger`), inputs: [qx.q, wq.q, qx.zeroPoint, wq.zeroPoint], outputs: [integer] }));
  }
  const asFloat = unique(`${base}_output_float`);
  const product = unique(`${base}_scale_product`);
  nodes.push(
    makeNode({ opType: 'Cast', name: unique(`${base}_Cast`), inputs: [integer], outputs: [asFloat], attrs: { to: DT.FLOAT } }),
    makeNode({ opType: 'Mul', name: unique(`${base}_scale_Mul`), inputs: [qx.scale, wq.scale], outputs: [product] }),
  );
  const out = node.output[0]!;
  const bias = biasTerm(graph, scope, node, dims, ctx.names);
  const scaled = bias ? unique(`${base}_scaled`) : out;
  nodes.push(makeNode({ opType: 'Mul', name: unique(`${base}_rescale`), inputs: [asFloat, product], outputs: [scaled] }));
  if (bias) nodes.push(...bias(scaled, out));
  graph.replaceNode(node, nodes);
  return undefined;
}

/**
 * The weight quantized symmetrically, per output channel unless asked otherwise, as initializers of
 * `owner` (the graph that holds the float weight, so that every subgraph reading it shares them).
 */
function quantizeWeight(owner: Graph, name: string, node: NodeProto, weight: TensorProto, transB: boolean, alpha: number, options: DynamicOptions, unique: Unique): QuantizedWeight {
  const dims = tensorDims(weight);
  let w = readFloat32(weight);
  let kn: [number, number] | undefined;
  if (node.opType !== 'Conv') {
    if (transB) {
      w = transpose2d(w, dims[0]!, dims[1]!);
      kn = [dims[1]!, dims[0]!];
    } else kn = [dims[0]!, dims[1]!];
  }
  const spec: QuantSpec = { dtype: options.weightType, symmetric: true, ...(options.perChannel === false ? {} : { axis: kn ? 1 : 0 }) };
  const wDims = kn ? [...kn] : dims;
  const range = channelMinMax(w, wDims, spec.axis);
  const params = paramsFromRanges(range.min, range.max, spec);
  // Symmetric: every channel's zero point is the middle of the range, an all-zero channel's too (which
  // paramsFromRanges gives scale 1 and zero point 0); ConvInteger applies channel 0's to all of them.
  params.zeroPoint.fill(options.weightType === 'uint8' ? 127 : 0);
  // Named after the weight, which every node reading it shares.
  const names = { q: unique(`${name}_quantized`), scale: unique(`${name}_scale`), zeroPoint: unique(`${name}_zero_point`) };
  const dtype = onnxType(options.weightType);
  owner.addInitializer(makeTensor(names.q, dtype, wDims, quantizeArray(w, wDims, params)));
  const perColumn = params.scale.length > 1;
  // ConvInteger takes one weight zero point; symmetric weights share it whatever the channel.
  const zeroPoints = node.opType === 'Conv' || !perColumn ? params.zeroPoint.subarray(0, 1) : params.zeroPoint;
  owner.addInitializer(makeTensor(names.zeroPoint, dtype, zeroPoints.length > 1 ? [zeroPoints.length] : [], typed(dtype, zeroPoints)));
  // The weight scale in the shape that broadcasts over the output: [N] for MatMul/Gemm, [M, 1, …] for Conv.
  const scaleDims = node.opType === 'Conv' && perColumn ? [params.scale.length, ...new Array<number>(dims.length - 2).fill(1)] : perColumn ? [params.scale.length] : [];
  owner.addInitializer(floatTensor(names.scale, scaleDims, alpha === 1 ? params.scale : params.scale.map((s) => s * alpha)));
  return names;
}

/** The bias a node adds after its product (Conv's B, Gemm's β·C), as nodes from `input` to `output`. */
function biasTerm(graph: Graph, scope: Scope, node: NodeProto, weightDims: number[], names: NameSet): ((input: string, output: string) => NodeProto[]) | undefined {
  const c = node.input[2];
  if (!c) return undefined;
  if (node.opType !== 'Conv') return gemmAddend(graph, scope, node, names);
  const base = node.name || node.output[0]!;
  const add = (input: string, addend: string, output: string) => makeNode({ opType: 'Add', name: names.fresh(`${base}_bias_Add`), inputs: [input, addend], outputs: [output] });
  const constant = scope.constant(c);
  if (!constant) return (input, output) => [add(input, c, output)];
  // B is [M]: reshape to [M, 1, …] so that it broadcasts over [N, M, spatial…].
  const name = names.fresh(`${base}_bias`);
  graph.addInitializer(floatTensor(name, [weightDims[0]!, ...new Array<number>(weightDims.length - 2).fill(1)], readFloat32(constant)));
  return (input, output) => [add(input, name, output)];
}

function typed(dtype: number, values: Int32Array): Int8Array | Uint8Array {
  return dtype === DT.INT8 ? Int8Array.from(values) : Uint8Array.from(values);
}
