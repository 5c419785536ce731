/**
 * Weight-only quantization: MatMul/Gemm weights (and, asked for, Gather embedding tables) stored in 4 or
 * 8 bits with one scale (and zero point) per block of `blockSize` along the reduction axis; activations
 * stay float. Forms, checked against ORT's contrib op schemas and run in onnxruntime-node 1.30:
 * - `matmulnbits` (default): com.microsoft MatMulNBits(A, B uint8 [N][kb][bs·bits/8], scales [N·kb],
 *   zero_points?, g_idx?, bias?) with attributes K, N, bits, block_size, accuracy_level; zero points are
 *   absent (symmetric, default 2^(bits−1)), packed uint8 [N·ceil(kb/2)] (4-bit) or [N·kb] (8-bit), or float
 *   [N·kb] (HQQ). Embeddings: com.microsoft GatherBlockQuantized (int4/uint4, or uint8 with bits = 8).
 * - `qdq`: DequantizeLinear with block_size (opset 21) on the weight as stored → MatMul / Gather.
 * Gemm becomes [Transpose A] → product → [Mul α] → [Add β·C] (β·C as MatMulNBits' bias when α = 1 and C is
 * a constant [N]). If/Loop/Scan bodies are rewritten too; a body may use an outer weight, whose quantized
 * form then lives beside it in the outer graph. Graph inputs and outputs keep their names and order.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { DT } from '../onnx/dtype.js';
import { allFinite, floatTensor, makeTensor, readFloat32, tensorByteSize, tensorDims } from '../onnx/tensor.js';
import { Graph } from '../ir/graph.js';
import { NameSet } from '../ir/names.js';
import { hasConstantWeight, Scope } from '../ir/scope.js';
import { forEachGraph } from '../onnx/walk.js';
import { selectorWarnings } from '../ir/select.js';
import { opsetVersion, setOpsetVersion } from '../ir/model.js';
import { attrFloat, attrInt, hasSubgraphs, isStandard, makeNode, type AttrValue } from '../ir/node.js';
import { typeOf } from '../ir/types.js';
import { packCodes, quantizeBlocks, type BlockBits, type QuantizedBlocks } from '../quant/blocks.js';
import { transpose2d } from '../quant/transpose.js';
import { quantizeHqq } from '../quant/hqq.js';
import type { FloatNode } from '../plan/plan.js';
import { quantizedOps, WEIGHT_ONLY_RULES } from '../plan/rules.js';
import { gemmAddend } from './gemm.js';

export type WeightOnlyFormat = 'matmulnbits' | 'qdq';
export type WeightOnlyMethod = 'rtn' | 'hqq';

export interface WeightOnlyOptions {
  /** Bits per weight: 4 (default) or 8. */
  bits?: number;
  /** Values per block along the reduction axis: a power of two in 16..256 (default 32). */
  blockSize?: number;
  /** Symmetric blocks (no zero points stored) or asymmetric (default, as ORT's MatMulNBits quantizer). */
  symmetric?: boolean;
  /** Rounding: to nearest (default) or HQQ (4-bit MatMulNBits only: its zero points are floats). */
  method?: WeightOnlyMethod;
  /** com.microsoft MatMulNBits/GatherBlockQuantized (default, any opset) or blocked DequantizeLinear (opset 21). */
  format?: WeightOnlyFormat;
  /** MatMulNBits accuracy_level: 0 unset (default), 1 fp32, 2 fp16, 3 bf16, 4 int8 activations. */
  accuracyLevel?: number;
  /** Also quantize Gather on a constant 2-D table (embeddings), blocks along the embedding axis. */
  quantizeEmbeddings?: boolean;
  /** Quantize only these op types (of MatMul, Gemm, Gather). */
  opTypes?: string[];
  /** Node names or op types to keep float. */
  exclude?: string[];
}

export type ResolvedWeightOnlyOptions = Required<Omit<WeightOnlyOptions, 'bits'>> & { bits: BlockBits };

export interface WeightOnlyEntry {
  node: string;
  op: string;
  /** The float weight (or table) it read. */
  weight: string;
  /** What it became: MatMulNBits, DequantizeLinear (qdq) or GatherBlockQuantized. */
  as: string;
  /** Reduction (blocked) axis length and the number of rows: MatMul/Gemm K and N, Gather D and V. */
  K: number;
  N: number;
  /** Float weight bytes, and bytes of codes, scales and zero points that replace them. */
  bytesBefore: number;
  bytesAfter: number;
}

export interface WeightOnlyReport {
  options: ResolvedWeightOnlyOptions;
  quantized: WeightOnlyEntry[];
  float: FloatNode[];
  warnings: string[];
  /** Totals over the quantized weights written (a weight shared by several nodes is counted once). */
  bytesBefore: number;
  bytesAfter: number;
}

const MS = 'com.microsoft';
const RULES = quantizedOps(WEIGHT_ONLY_RULES);

/** Checks and completes the options; fails with BAD_OPTION naming the CLI flag. */
export function resolveWeightOnlyOptions(options: WeightOnlyOptions, opset?: number): ResolvedWeightOnlyOptions {
  const bits = options.bits ?? 4;
  if (bits !== 4 && bits !== 8) fail('BAD_OPTION', `--bits ${bits}: weight-only quantization stores 4- or 8-bit weights. Use --bits 4 or --bits 8.`);
  const blockSize = options.blockSize ?? 32;
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)) !== 0)
    fail('BAD_OPTION', `--block-size ${blockSize}: the block size must be a power of two from 16 to 256 (16, 32, 64, 128, 256), as MatMulNBits and blocked DequantizeLinear take it.`);
  const method = options.method ?? 'rtn';
  if (method !== 'rtn' && method !== 'hqq') fail('BAD_OPTION', `--weight-method ${String(method)}: use rtn (round to nearest) or hqq (half-quadratic).`);
  const format = options.format ?? 'matmulnbits';
  if (format !== 'matmulnbits' && format !== 'qdq') fail('BAD_OPTION', `--format ${String(format)}: weight-only output is matmulnbits (com.microsoft MatMulNBits) or qdq (blocked DequantizeLinear, opset 21).`);
  const accuracyLevel = options.accuracyLevel ?? 0;
  if (!Number.isInteger(accuracyLevel) || accuracyLevel < 0 || accuracyLevel > 4)
    fail('BAD_OPTION', `--accuracy-level ${accuracyLevel}: use 0 (unset), 1 (fp32), 2 (fp16), 3 (bf16) or 4 (int8 activations).`);
  if (accuracyLevel && format === 'qdq')
    fail('BAD_OPTION', `--accuracy-level is an attribute of MatMulNBits and has no effect with --format qdq; drop it or use --format matmulnbits.`);
  const quantizeEmbeddings = options.quantizeEmbeddings ?? false;
  if (method === 'hqq') {
    const why = 'HQQ fits a float zero point per block';
    if (bits !== 4) fail('BAD_OPTION', `--weight-method hqq needs --bits 4: ${why}, and onnxruntime runs 8-bit MatMulNBits only with integer zero points. Use --weight-method rtn for 8 bits.`);
    if (format !== 'matmulnbits') fail('BAD_OPTION', `--weight-method hqq needs --format matmulnbits: ${why}, and DequantizeLinear takes integer zero points only. Use --weight-method rtn with --format qdq.`);
    if (options.symmetric) fail('BAD_OPTION', `--weight-method hqq is asymmetric by construction (${why}); drop --symmetric.`);
    if (quantizeEmbeddings) fail('BAD_OPTION', `--weight-method hqq cannot quantize embeddings: ${why}, and GatherBlockQuantized takes integer zero points only. Drop --quantize-embeddings or use --weight-method rtn.`);
  }
  if (format === 'qdq' && opset !== undefined && opset < 21)
    fail('BAD_OPTION', `--format qdq needs opset 21 (DequantizeLinear with block_size and 4-bit types); the model is at opset ${opset}. Use --format matmulnbits, which works at the model's opset, or upgrade the model to opset 21 first.`);
  for (const t of options.opTypes ?? [])
    if (!RULES.includes(t)) fail('BAD_OPTION', `--op-types ${t}: weight-only quantization has rules for ${RULES.join(', ')} only.`);
  if (options.opTypes?.includes('Gather') && !quantizeEmbeddings) fail('BAD_OPTION', `--op-types Gather needs --quantize-embeddings.`);
  const opTypes = options.opTypes ?? ['MatMul', 'Gemm', ...(quantizeEmbeddings ? ['Gather'] : [])];
  return { bits: bits as BlockBits, blockSize, symmetric: options.symmetric ?? false, method, format, accuracyLevel, quantizeEmbeddings, opTypes, exclude: options.exclude ?? [] };
}

/**
 * Rewrites `model` in place (pass a prepared copy: weights as initializers, nodes named).
 * `onProgress` hears of every MatMul, Gemm and Gather done, out of all in the model (HQQ on a large model takes a while).
 */
export function exportWeightOnly(model: ModelProto, options: WeightOnlyOptions, onProgress?: (done: number, total: number) => void): WeightOnlyReport {
  const resolved = resolveWeightOnlyOptions(options, opsetVersion(model));
  let total = 0;
  forEachGraph(model.graph!, (g) => (total += g.node.filter((n) => RULES.includes(n.opType)).length));
  const state: State = { options: resolved, names: NameSet.of(model.graph!), cache: new Map(), emittedMs: false, progress: { done: 0, total, report: onProgress } };
  const report: WeightOnlyReport = { options: resolved, quantized: [], float: [], warnings: selectorWarnings(model.graph!, options, true), bytesBefore: 0, bytesAfter: 0 };
  rewriteGraph(model.graph!, undefined, state, report);
  onProgress?.(total, total);
  if (state.emittedMs && !model.opsetImport.some((o) => o.domain === MS)) setOpsetVersion(model, MS, 1);
  for (const q of state.cache.values()) {
    report.bytesBefore += q.bytesBefore;
    report.bytesAfter += q.bytesAfter;
  }
  return report;
}

interface Quantized {
  /** Initializer names: codes, scales, zero points ('' when absent). */
  q: string;
  scales: string;
  zeroPoints: string;
  bytesBefore: number;
  bytesAfter: number;
}

interface State {
  options: ResolvedWeightOnlyOptions;
  names: NameSet;
  /** (owning graph, weight, form) → its quantized initializers, so that a shared weight is stored once. */
  cache: Map<string, Quantized>;
  emittedMs: boolean;
  progress: { done: number; total: number; report?: (done: number, total: number) => void };
}

function rewriteGraph(proto: GraphProto, parent: Scope | undefined, state: State, report: WeightOnlyReport): void {
  const graph = new Graph(proto, state.names);
  const scope = new Scope(graph, parent);
  const { exclude, opTypes } = state.options;
  for (const node of [...graph.nodes]) {
    if (hasSubgraphs(node)) {
      for (const a of node.attribute) {
        if (a.g) rewriteGraph(a.g, scope, state, report);
        for (const g of a.graphs) rewriteGraph(g, scope, state, report);
      }
      graph.refresh(node);
    }
    const rule = isStandard(node) ? WEIGHT_ONLY_RULES[node.opType] : undefined;
    if (!rule) continue;
    const name = node.name || node.output[0]!;
    if ('float' in rule) {
      if (hasConstantWeight(scope, node)) report.float.push({ node: name, op: node.opType, reason: rule.float });
      continue;
    }
    state.progress.report?.(state.progress.done++, state.progress.total); // nodes finished so far
    if (node.opType === 'Gather' && !isConstantTable(scope, node)) continue;
    if (exclude.includes(node.name) || exclude.includes(node.opType)) {
      report.float.push({ node: name, op: node.opType, reason: 'excluded (--exclude)' });
      continue;
    }
    if (!opTypes.includes(node.opType)) {
      const reason = node.opType === 'Gather' && !state.options.quantizeEmbeddings ? 'embedding table: pass --quantize-embeddings to quantize it' : 'not in --op-types';
      report.float.push({ node: name, op: node.opType, reason });
      continue;
    }
    const result = node.opType === 'Gather' ? rewriteGather(scope, node, state) : rewriteMatMul(scope, node, state);
    if (typeof result === 'string') report.float.push({ node: name, op: node.opType, reason: result });
    else report.quantized.push({ node: name, op: node.opType, ...result });
  }
  graph.removeUnused();
  graph.sort();
}

type Rewritten = Omit<WeightOnlyEntry, 'node' | 'op'>;

/** MatMul or Gemm with a constant B → MatMulNBits or DequantizeLinear → MatMul; returns why not, if not. */
function rewriteMatMul(scope: Scope, node: NodeProto, state: State): Rewritten | string {
  const b = constantB(scope, node);
  if (typeof b === 'string') return b;
  const { format } = state.options;
  const q = quantizedWeight(b.owner, b.name, b.tensor, b.transB ? 'rows' : 'columns', format === 'qdq' ? 'qdq-matmul' : 'matmulnbits', state);
  scope.graph.replaceNode(node, gemmAround(scope, node, b, state, (input, bias, product) => productNodes(node, b, q, input, bias, product, state)));
  return { weight: b.name, as: format === 'qdq' ? 'DequantizeLinear' : 'MatMulNBits', K: b.K, N: b.N, bytesBefore: tensorByteSize(b.tensor), bytesAfter: q.bytesAfter };
}

/** The weight B of a MatMul or Gemm, where it is a constant 2-D float tensor and A's last axis fits it. */
interface ConstantB {
  tensor: TensorProto;
  /** The scope whose graph holds it, and its name there. */
  owner: Scope;
  name: string;
  transB: boolean;
  K: number;
  N: number;
}

function constantB(scope: Scope, node: NodeProto): ConstantB | string {
  const gemm = node.opType === 'Gemm';
  const found = node.input[1] ? scope.lookup(node.input[1]) : undefined;
  if (!found) return scope.lookup(node.input[0]!) ? 'the constant is input A; weight-only quantization takes the weight as input B' : 'weight is computed at run time (not a constant)';
  const { tensor, scope: owner, name } = found;
  const dtype = tensor.dataType;
  if (dtype !== DT.FLOAT && dtype !== DT.FLOAT16) return `weight is ${dtype === DT.DOUBLE ? 'float64' : 'not a float tensor'}; MatMulNBits and DequantizeLinear take float32 or float16`;
  const dims = tensorDims(tensor);
  if (dims.length !== 2) return `weight is ${dims.length}-D; weight-only quantization takes a 2-D weight`;
  if (!allFinite(tensor)) return 'weight holds NaN or infinite values';
  const transB = gemm && attrInt(node, 'transB', 0) === 1;
  const [K, N] = transB ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
  const aType = typeOf(scope.graph.declared(node.input[0]!));
  if (!gemm && aType?.shape) {
    if (aType.shape.length < 2) return 'activation A is 1-D; MatMulNBits needs A of rank 2 or more';
    const last = aType.shape[aType.shape.length - 1];
    if (typeof last === 'number' && last !== K) return `activation A ends in ${last} where the weight has K = ${K}`;
  }
  return { tensor, owner, name, transB, K, N };
}

/**
 * What a Gemm computes around its product, α·A′·B′ + β·C, as ordinary ops: a Transpose for transA,
 * a Mul by α, and β·C (export/gemm.ts) — or, where MatMulNBits can take it, β·C as its own bias input.
 * For a MatMul, the product alone. `product(input, bias, output)` makes the product's nodes.
 */
function gemmAround(scope: Scope, node: NodeProto, b: ConstantB, state: State, product: (input: string, bias: string, output: string) => NodeProto[]): NodeProto[] {
  const graph = scope.graph;
  const names = state.names;
  const base = node.name || node.output[0]!;
  const out = node.output[0]!;
  const floatType = b.tensor.dataType;
  if (node.opType !== 'Gemm') return product(node.input[0]!, '', out);
  const nodes: NodeProto[] = [];
  let input = node.input[0]!;
  if (attrInt(node, 'transA', 0) === 1) {
    input = names.fresh(`${base}_A_transposed`);
    nodes.push(makeNode({ opType: 'Transpose', name: names.fresh(`${base}_Transpose_A`), inputs: [node.input[0]!], outputs: [input], attrs: { perm: [1, 0] } }));
  }
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const c = node.input[2] && beta !== 0 ? node.input[2] : '';
  const cConst = c ? scope.lookup(c)?.tensor : undefined;
  // MatMulNBits adds a bias of N values after its product: β·C when there is no α in between.
  if (state.options.format === 'matmulnbits' && alpha === 1 && cConst && tensorDims(cConst).length === 1 && tensorDims(cConst)[0] === b.N) {
    const bias = names.fresh(`${base}_bias`);
    graph.addInitializer(floatTensor(bias, [b.N], readFloat32(cConst).map((v) => v * beta), floatType));
    return [...nodes, ...product(input, bias, out)];
  }
  const addend = gemmAddend(graph, scope, node, names, floatType);
  let last = alpha === 1 && !addend ? out : names.fresh(`${base}_product`);
  nodes.push(...product(input, '', last));
  if (alpha !== 1) {
    const alphaName = names.fresh(`${base}_alpha`);
    graph.addInitializer(floatTensor(alphaName, [], [alpha], floatType));
    const scaled = addend ? names.fresh(`${base}_scaled`) : out;
    nodes.push(makeNode({ opType: 'Mul', name: names.fresh(`${base}_alpha_Mul`), inputs: [last, alphaName], outputs: [scaled] }));
    last = scaled;
  }
  if (addend) nodes.push(...addend(last, out));
  return nodes;
}

/** The quantized product input·B′ → output: MatMulNBits (with `bias` if given), or blocked DequantizeLinear → MatMul. */
function productNodes(node: NodeProto, b: ConstantB, q: Quantized, input: string, bias: string, output: string, state: State): NodeProto[] {
  const { bits, blockSize, accuracyLevel, format } = state.options;
  const names = state.names;
  const base = node.name || node.output[0]!;
  if (format === 'matmulnbits') {
    const inputs = [input, q.q, q.scales, q.zeroPoints];
    if (bias) inputs.push('', bias);
    while (inputs[inputs.length - 1] === '') inputs.pop();
    const attrs: Record<string, AttrValue> = { K: b.K, N: b.N, bits, block_size: blockSize };
    if (accuracyLevel) attrs.accuracy_level = accuracyLevel;
    state.emittedMs = true;
    return [makeNode({ opType: 'MatMulNBits', domain: MS, name: names.fresh(`${base}_Q${bits}`), inputs, outputs: [output], attrs })];
  }
  const w = names.fresh(`${b.name}_dequantized`);
  const dqInputs = [q.q, q.scales, ...(q.zeroPoints ? [q.zeroPoints] : [])];
  return [
    makeNode({ opType: 'DequantizeLinear', name: names.fresh(`${base}_DQ_Q${bits}`), inputs: dqInputs, outputs: [w], attrs: { axis: 0, block_size: blockSize } }),
    makeNode({ opType: 'MatMul', name: names.fresh(`${base}_MatMul_Q${bits}`), inputs: [input, w], outputs: [output] }),
  ];
}

/** Gather on a constant [V, D] table → GatherBlockQuantized, or blocked DequantizeLinear (axis 1) → Gather. */
function rewriteGather(scope: Scope, node: NodeProto, state: State): Rewritten | string {
  const { tensor: table, scope: owner, name: tableName } = scope.lookup(node.input[0]!)!;
  const axis = attrInt(node, 'axis', 0);
  if (axis !== 0 && axis !== -2) return `gathers along axis ${axis}; quantized tables are gathered along axis 0`;
  if (!allFinite(table)) return 'table holds NaN or infinite values';
  const [V, D] = tensorDims(table) as [number, number];
  const { format, bits, blockSize } = state.options;
  const q = quantizedWeight(owner, tableName, table, 'rows', format === 'qdq' ? 'qdq-gather' : 'gather', state);
  const base = node.name || node.output[0]!;
  const unique = (s: string) => state.names.fresh(s);
  const inputs = [q.q, node.input[1]!, q.scales, ...(q.zeroPoints ? [q.zeroPoints] : [])];
  let nodes: NodeProto[];
  if (format === 'matmulnbits') {
    const attrs: Record<string, AttrValue> = { gather_axis: 0, quantize_axis: 1, block_size: blockSize };
    if (bits === 8) attrs.bits = 8;
    nodes = [makeNode({ opType: 'GatherBlockQuantized', domain: MS, name: unique(`${base}_Q${bits}`), inputs, outputs: [node.output[0]!], attrs })];
    state.emittedMs = true;
  } else {
    const data = unique(`${tableName}_dequantized`);
    nodes = [
      makeNode({ opType: 'DequantizeLinear', name: unique(`${base}_DQ_Q${bits}`), inputs: [q.q, q.scales, ...(q.zeroPoints ? [q.zeroPoints] : [])], outputs: [data], attrs: { axis: 1, block_size: blockSize } }),
      makeNode({ opType: 'Gather', name: unique(`${base}_Gather_Q${bits}`), inputs: [data, node.input[1]!], outputs: [node.output[0]!], attrs: { axis: 0 } }),
    ];
  }
  scope.graph.replaceNode(node, nodes);
  return { weight: tableName, as: format === 'qdq' ? 'DequantizeLinear' : 'GatherBlockQuantized', K: D, N: V, bytesBefore: tensorByteSize(table), bytesAfter: q.bytesAfter };
}

type Form = 'matmulnbits' | 'qdq-matmul' | 'gather' | 'qdq-gather';

/**
 * The weight quantized in blocks and written as initializers of the graph that holds it, once per form.
 * `layout` says where the reduction axis is: 'columns' for MatMul's B [K, N] (blocks run down each
 * column), 'rows' for Gemm's B with transB [N, K] and for tables [V, D] (blocks run along each row).
 */
function quantizedWeight(owner: Scope, name: string, weight: TensorProto, layout: 'rows' | 'columns', form: Form, state: State): Quantized {
  const key = `${owner.id}\u0000${name}\u0000${layout}\u0000${form}`;
  const cached = state.cache.get(key);
  if (cached) return cached;
  const { bits, blockSize, symmetric, method } = state.options;
  const dims = tensorDims(weight);
  const [rows, cols] = layout === 'rows' ? [dims[0]!, dims[1]!] : [dims[1]!, dims[0]!];
  const data = readFloat32(weight);
  const w = layout === 'rows' ? data : transpose2d(data, dims[0]!, dims[1]!);
  const qb = method === 'hqq' ? quantizeHqq(w, rows, cols, { bits, blockSize }) : quantizeBlocks(w, rows, cols, { bits, blockSize, symmetric });
  const graph = owner.graph;
  const floatType = weight.dataType;
  const tensors: TensorProto[] = [];
  const add = (t: TensorProto) => {
    graph.addInitializer(t);
    tensors.push(t);
    return t.name;
  };
  const kb = qb.blocksPerRow;
  const unique = (s: string) => state.names.fresh(s);
  let q: string;
  let scales: string;
  let zeroPoints = '';
  if (form === 'matmulnbits') {
    q = add(makeTensor(unique(`${name}_Q${bits}`), DT.UINT8, [rows, kb, (blockSize * bits) / 8], packCodes(qb.q, bits)));
    scales = add(floatTensor(unique(`${name}_scales`), [rows * kb], qb.scales, floatType));
    if (qb.zeroPoints instanceof Float32Array) zeroPoints = add(floatTensor(unique(`${name}_zero_points`), [rows * kb], qb.zeroPoints, floatType));
    else if (!qb.symmetric) {
      const packed = packCodes(qb.zeroPoints, bits, rows, kb);
      zeroPoints = add(makeTensor(unique(`${name}_zero_points`), DT.UINT8, [packed.length], packed));
    }
  } else if (form === 'gather' && bits === 8) {
    // GatherBlockQuantized: uint8 codes with bits = 8; its default zero point is 128, the symmetric one.
    q = add(makeTensor(unique(`${name}_Q8`), DT.UINT8, [rows, cols], unpad(qb)));
    scales = add(floatTensor(unique(`${name}_scales`), [rows, kb], qb.scales, floatType));
    if (!qb.symmetric) zeroPoints = add(makeTensor(unique(`${name}_zero_points`), DT.UINT8, [rows, kb], qb.zeroPoints as Uint8Array));
  } else {
    // Signed int4/int8 for symmetric blocks (zero point 0, left out), unsigned with zero points otherwise,
    // as ORT's quantizer writes them; qdq keeps MatMul's weight as stored, [K, N] with scales [kb, N].
    const signed = qb.symmetric;
    const type = bits === 4 ? (signed ? DT.INT4 : DT.UINT4) : signed ? DT.INT8 : DT.UINT8;
    const shift = signed ? 2 ** (bits - 1) : 0;
    const codes = unpad(qb);
    const values = signed ? Int8Array.from(codes, (v) => v - shift) : codes;
    const asStored = form === 'qdq-matmul'; // N rows of K back to [K, N]
    const t = <T extends Int8Array | Uint8Array | Float32Array>(v: T, r: number, c: number): T => (asStored ? transpose2d(v, r, c) : v);
    const qDims = asStored ? [cols, rows] : [rows, cols];
    const sDims = asStored ? [kb, rows] : [rows, kb];
    q = add(makeTensor(unique(`${name}_Q${bits}`), type, qDims, t(values, rows, cols)));
    scales = add(floatTensor(unique(`${name}_scales`), sDims, t(qb.scales, rows, kb), floatType));
    if (!signed) zeroPoints = add(makeTensor(unique(`${name}_zero_points`), type, sDims, t(qb.zeroPoints as Uint8Array, rows, kb)));
  }
  const result: Quantized = { q, scales, zeroPoints, bytesBefore: tensorByteSize(weight), bytesAfter: tensors.reduce((n, x) => n + tensorByteSize(x), 0) };
  state.cache.set(key, result);
  return result;
}

/** Codes without the padding at the end of each row: rows × cols. */
function unpad(qb: QuantizedBlocks): Uint8Array {
  const padded = qb.blocksPerRow * qb.blockSize;
  if (padded === qb.cols) return qb.q;
  const out = new Uint8Array(qb.rows * qb.cols);
  for (let r = 0; r < qb.rows; r++) out.set(qb.q.subarray(r * padded, r * padded + qb.cols), r * qb.cols);
  return out;
}

function isConstantTable(scope: Scope, node: NodeProto): boolean {
  const t = node.input[0] ? scope.lookup(node.input[0])?.tensor : undefined;
  return !!t && (t.dataType === DT.FLOAT || t.dataType === DT.FLOAT16) && t.dims.length === 2;
}
