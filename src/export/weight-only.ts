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
import { DT, floatToHalf } from '../onnx/dtype.js';
import { makeTensor, readFloat32, tensorByteSize, tensorDims } from '../onnx/tensor.js';
import { Graph } from '../ir/graph.js';
import { NameSet } from '../ir/names.js';
import { Scope } from '../ir/scope.js';
import { forEachGraph } from '../onnx/walk.js';
import { selectorWarnings } from '../ir/select.js';
import { opsetVersion, setOpsetVersion } from '../ir/model.js';
import { attrFloat, attrInt, hasSubgraphs, isStandard, makeNode, type AttrValue } from '../ir/node.js';
import { typeOf } from '../ir/types.js';
import { packCodes, quantizeBlocks, transpose, type BlockBits, type QuantizedBlocks } from '../quant/blocks.js';
import { quantizeHqq } from '../quant/hqq.js';
import type { FloatNode } from '../plan/plan.js';

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
const RULES = ['MatMul', 'Gemm', 'Gather'];
const RECURRENT = new Set(['LSTM', 'GRU', 'RNN']);
/** Ops that carry weights but have no weight-only rule: listed so that the user knows they stay float. */
const NO_RULE = new Set(['Conv', 'ConvTranspose', ...RECURRENT, 'Einsum']);

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
      graph.subgraphsEdited(node);
    }
    if (!isStandard(node)) continue;
    const name = node.name || node.output[0]!;
    if (RULES.includes(node.opType)) state.progress.report?.(state.progress.done++, state.progress.total); // nodes finished so far
    const ruled = RULES.includes(node.opType) && (node.opType !== 'Gather' || isConstantTable(scope, node));
    if (!ruled) {
      if (NO_RULE.has(node.opType) && hasConstantWeight(scope, node))
        report.float.push({
          node: name,
          op: node.opType,
          reason: RECURRENT.has(node.opType) ? 'recurrent op: onnxq leaves LSTM, GRU and RNN float in every mode' : `weight-only quantization has no rule for ${node.opType} (use --mode dynamic or static)`,
        });
      continue;
    }
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
  const { format, bits } = state.options;
  const gemm = node.opType === 'Gemm';
  const found = node.input[1] ? scope.lookup(node.input[1]) : undefined;
  if (!found) return scope.lookup(node.input[0]!) ? 'the constant is input A; weight-only quantization takes the weight as input B' : 'weight is computed at run time (not a constant)';
  const { tensor: weight, scope: owner, name: weightName } = found;
  const dtype = weight.dataType;
  if (dtype !== DT.FLOAT && dtype !== DT.FLOAT16) return `weight is ${dtype === DT.DOUBLE ? 'float64' : 'not a float tensor'}; MatMulNBits and DequantizeLinear take float32 or float16`;
  const dims = tensorDims(weight);
  if (dims.length !== 2) return `weight is ${dims.length}-D; weight-only quantization takes a 2-D weight`;
  if (!allFinite(weight)) return 'weight holds NaN or infinite values';
  const transB = gemm && attrInt(node, 'transB', 0) === 1;
  const [K, N] = transB ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
  const graph = scope.graph;
  const a = node.input[0]!;
  const aType = typeOf(graph.declared(a));
  if (!gemm && aType?.shape) {
    if (aType.shape.length < 2) return 'activation A is 1-D; MatMulNBits needs A of rank 2 or more';
    const last = aType.shape[aType.shape.length - 1];
    if (typeof last === 'number' && last !== K) return `activation A ends in ${last} where the weight has K = ${K}`;
  }
  const q = quantizedWeight(owner, weightName, weight, transB ? 'rows' : 'columns', format === 'qdq' ? 'qdq-matmul' : 'matmulnbits', state);
  const base = node.name || node.output[0]!;
  const out = node.output[0]!;
  const nodes: NodeProto[] = [];
  const unique = (s: string) => state.names.fresh(s);

  let input = a;
  if (gemm && attrInt(node, 'transA', 0) === 1) {
    input = unique(`${base}_A_transposed`);
    nodes.push(makeNode({ opType: 'Transpose', name: unique(`${base}_Transpose_A`), inputs: [a], outputs: [input], attrs: { perm: [1, 0] } }));
  }
  const alpha = gemm ? attrFloat(node, 'alpha', 1) : 1;
  const beta = gemm ? attrFloat(node, 'beta', 1) : 1;
  const c = gemm && node.input[2] && beta !== 0 ? node.input[2] : '';
  const cConst = c ? scope.lookup(c)?.tensor : undefined;
  const betaC = cConst ? Float32Array.from(readFloat32(cConst), (v) => v * beta) : undefined;
  const asBias = format === 'matmulnbits' && alpha === 1 && cConst !== undefined && tensorDims(cConst).length === 1 && tensorDims(cConst)[0] === N;
  const biasName = asBias ? addInitializer(graph, state, `${base}_bias`, dtype, [N], betaC!) : '';
  const tail = alpha !== 1 || (c && !asBias);
  const product = tail ? unique(`${base}_product`) : out;

  if (format === 'matmulnbits') {
    const inputs = [input, q.q, q.scales, q.zeroPoints];
    if (biasName) inputs.push('', biasName);
    while (inputs[inputs.length - 1] === '') inputs.pop();
    const attrs: Record<string, AttrValue> = { K, N, bits, block_size: state.options.blockSize };
    if (state.options.accuracyLevel) attrs.accuracy_level = state.options.accuracyLevel;
    nodes.push(makeNode({ opType: 'MatMulNBits', domain: MS, name: unique(`${base}_Q${bits}`), inputs, outputs: [product], attrs }));
    state.emittedMs = true;
  } else {
    const w = unique(`${weightName}_dequantized`);
    const dqInputs = [q.q, q.scales, ...(q.zeroPoints ? [q.zeroPoints] : [])];
    nodes.push(
      makeNode({ opType: 'DequantizeLinear', name: unique(`${base}_DQ_Q${bits}`), inputs: dqInputs, outputs: [w], attrs: { axis: 0, block_size: state.options.blockSize } }),
      makeNode({ opType: 'MatMul', name: unique(`${base}_MatMul_Q${bits}`), inputs: [input, w], outputs: [product] }),
    );
  }
  let last = product;
  if (alpha !== 1) {
    const alphaName = addInitializer(graph, state, `${base}_alpha`, dtype, [], Float32Array.of(alpha));
    const scaled = c && !asBias ? unique(`${base}_scaled`) : out;
    nodes.push(makeNode({ opType: 'Mul', name: unique(`${base}_alpha_Mul`), inputs: [last, alphaName], outputs: [scaled] }));
    last = scaled;
  }
  if (c && !asBias) {
    let addend = c;
    if (betaC) addend = addInitializer(graph, state, `${base}_beta_C`, dtype, tensorDims(cConst!), betaC);
    else if (beta !== 1) {
      const betaName = addInitializer(graph, state, `${base}_beta`, dtype, [], Float32Array.of(beta));
      addend = unique(`${base}_beta_C`);
      nodes.push(makeNode({ opType: 'Mul', name: unique(`${base}_beta_Mul`), inputs: [c, betaName], outputs: [addend] }));
    }
    nodes.push(makeNode({ opType: 'Add', name: unique(`${base}_C_Add`), inputs: [last, addend], outputs: [out] }));
  }
  graph.replaceNode(node, nodes);
  return { weight: weightName, as: format === 'qdq' ? 'DequantizeLinear' : 'MatMulNBits', K, N, bytesBefore: tensorByteSize(weight), bytesAfter: q.bytesAfter };
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
  const w = layout === 'rows' ? data : transpose(data, dims[0]!, dims[1]!);
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
    scales = add(floatArray(unique(`${name}_scales`), floatType, [rows * kb], qb.scales));
    if (qb.zeroPoints instanceof Float32Array) zeroPoints = add(floatArray(unique(`${name}_zero_points`), floatType, [rows * kb], qb.zeroPoints));
    else if (!qb.symmetric) {
      const packed = packCodes(qb.zeroPoints, bits, rows, kb);
      zeroPoints = add(makeTensor(unique(`${name}_zero_points`), DT.UINT8, [packed.length], packed));
    }
  } else if (form === 'gather' && bits === 8) {
    // GatherBlockQuantized: uint8 codes with bits = 8; its default zero point is 128, the symmetric one.
    q = add(makeTensor(unique(`${name}_Q8`), DT.UINT8, [rows, cols], unpad(qb)));
    scales = add(floatArray(unique(`${name}_scales`), floatType, [rows, kb], qb.scales));
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
    const t = <T extends Int8Array | Uint8Array | Float32Array>(v: T, r: number, c: number): T => (asStored ? (transposeTyped(v, r, c) as T) : v);
    const qDims = asStored ? [cols, rows] : [rows, cols];
    const sDims = asStored ? [kb, rows] : [rows, kb];
    q = add(makeTensor(unique(`${name}_Q${bits}`), type, qDims, t(values, rows, cols)));
    scales = add(floatArray(unique(`${name}_scales`), floatType, sDims, t(qb.scales, rows, kb)));
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

function transposeTyped(v: Int8Array | Uint8Array | Float32Array, rows: number, cols: number): Int8Array | Uint8Array | Float32Array {
  const out = new (v.constructor as Int8ArrayConstructor)(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
  return out;
}

/** A float initializer in the model's float type (float16 where the weight was float16). */
function floatArray(name: string, floatType: number, dims: number[], values: Float32Array): TensorProto {
  return floatType === DT.FLOAT16 ? makeTensor(name, DT.FLOAT16, dims, Uint16Array.from(values, floatToHalf)) : makeTensor(name, DT.FLOAT, dims, values);
}

function addInitializer(graph: Graph, state: State, base: string, floatType: number, dims: number[], values: Float32Array): string {
  const t = floatArray(state.names.fresh(base), floatType, dims, values);
  graph.addInitializer(t);
  return t.name;
}

function allFinite(t: TensorProto): boolean {
  return readFloat32(t).every(Number.isFinite);
}

function isConstantTable(scope: Scope, node: NodeProto): boolean {
  const t = node.input[0] ? scope.lookup(node.input[0])?.tensor : undefined;
  return !!t && (t.dataType === DT.FLOAT || t.dataType === DT.FLOAT16) && t.dims.length === 2;
}

function hasConstantWeight(scope: Scope, node: NodeProto): boolean {
  return node.input.slice(1).some((i) => {
    const t = i ? scope.lookup(i)?.tensor : undefined;
    return !!t && t.dims.length >= 2;
  });
}
