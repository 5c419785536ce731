/**
 * float32 → float16 conversion of a whole model: weights, constants and computation in float16, in the
 * main graph and in every If/Loop/Scan body. After ORT's `convert_float_to_float16`
 * (onnxruntime/python/tools/transformers/float16.py, itself from onnxconverter-common): a block list of
 * ops left in float32 with Casts around them, float32 graph I/O by default (Casts inside), and values
 * moved into float16's range as ORT does: |x| > 65504 → ±65504, 0 < |x| < 2⁻²⁴ (5.96e-8) → ±2⁻²⁴.
 * Beyond ORT: ops whose type constraints have no float16 stay float32 whatever the block list; float
 * arithmetic that only computes shapes (→ Cast to int, Resize scales, Range) stays float32, so sizes
 * stay exact; a constant read by float16 and float32 nodes is stored in both types, never re-rounded.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { NameSet } from '../ir/names.js';
import { normalDomain, opsetVersion } from '../ir/model.js';
import { attrInt, attrTensor, constantNodeValue, describeNode, getAttr, hasSubgraphs, isStandard, makeAttr, makeNode, setAttr } from '../ir/node.js';
import { DT, floatToHalf } from '../onnx/dtype.js';
import { makeTensor, readFloat32, setRawData, tensorByteSize, tensorDims } from '../onnx/tensor.js';
import { forEachGraph, forEachTensor } from '../onnx/walk.js';
import type { FloatNode } from '../plan/plan.js';
import { DTYPE_OUT, outputTypes, subgraphInputTypes, type Elem } from '../ir/elem-types.js';

/**
 * Ops computed in float32 unless `blockList` says otherwise. ORT's list for neural networks, less Min and
 * Max (exact in float16, with float16 kernels in ORT 1.30; in float32 a Max(x, 1e-12) guard would turn
 * into 0 on the Cast back), plus the random generators (ORT 1.30 has no float16 RandomNormal/RandomUniform).
 */
export const DEFAULT_FP16_BLOCK_LIST: readonly string[] = [
  // ORT's choice, kept. Measured on PaddleOCR det: its nearest-neighbour Resizes computed in float16 give
  // the same maps with 12 Casts fewer (their scales stay float32 either way): drop them for GPU targets.
  'Resize',
  'Upsample',
  'TopK', // float16 rounding creates ties and reorders indices
  'NonMaxSuppression',
  'RoiAlign',
  'CumSum', // long sums overflow or lose their low bits
  'Range', // onnxruntime has no float16 Range; counts past 2048 lose integers in float16
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
];

export interface Float16Options {
  /** Keep float32 graph inputs and outputs float32, converting inside with Casts (default true). */
  keepIoTypes?: boolean;
  /** Op types computed in float32 (default DEFAULT_FP16_BLOCK_LIST; extend with `[...DEFAULT_FP16_BLOCK_LIST, 'Op']`). */
  blockList?: readonly string[];
  /** Node names computed in float32 too. */
  blockNodes?: readonly string[];
  /**
   * Constants beyond ±65504: 'clamp' them all (ORT's converter); keep in float32 every node that reads
   * one ('float32'); or 'auto' (default): keep in float32 the nodes where a large constant makes a
   * small result (BatchNormalization's variance, a Div's divisor; PaddleOCR det's first BatchNorm has
   * variances up to 9.8e7), clamp the rest (attention-mask fills such as -1e9 work clamped).
   */
  overflow?: 'auto' | 'clamp' | 'float32';
}

export interface Float16Report {
  /** Float32 tensors (initializers, Constant values, attribute tensors) now stored as float16. */
  converted: number;
  /** Per tensor: values beyond ±65504 set to ±65504, and the largest |x| among them. */
  clamped: { tensor: string; count: number; maxAbs: number }[];
  /** Per tensor: non-zero values below 2⁻²⁴ raised to ±2⁻²⁴ rather than flushed to 0 (ORT's convention). */
  tiny: { tensor: string; count: number; minAbs: number }[];
  /** Nodes left computing in float32, and why. */
  float32Nodes: FloatNode[];
  /** Constants left in float32: read only by float32 nodes, integer Casts or kept float32 outputs. */
  float32Tensors: string[];
  /** Constants stored twice: float16 for float16 readers, a float32 copy for float32 readers. */
  duplicated: string[];
  /** Cast nodes added (around blocked nodes and graph inputs/outputs). */
  casts: number;
  /** Bytes of all tensors before and after. */
  bytes: { before: number; after: number };
}

type Prec = 16 | 32;
const F16_MAX = 65504;
const F16_MIN = 2 ** -24;
const FLOAT_TYPES = new Set<number>([DT.FLOAT, DT.FLOAT16, DT.DOUBLE, DT.BFLOAT16]);

/** A float32 value: where it is defined and who reads it. */
interface Def {
  name: string;
  graph: GraphProto;
  kind: 'input' | 'init' | 'const' | 'node';
  producer?: NodeProto;
  slot: number;
  tensor?: TensorProto;
  readers: Reader[];
  orig: Prec;
  natural: Prec;
  versions: Map<Prec, string>;
}

/** A node input slot, or a graph output (`output` = its index). */
interface Reader {
  graph: GraphProto;
  node?: NodeProto;
  slot: number;
  output?: boolean;
}

interface NodeInfo {
  graph: GraphProto;
  kind: 'float16' | 'blocked' | 'required' | 'shape';
  reason?: string;
  outs: Def[];
  touchesFloat: boolean;
}

/** A graph's environment in the conversion, what its names stand for: each one's element type, and its Def when float32; a subgraph sees its enclosing graphs' names. */
class Env {
  readonly types = new Map<string, Elem>();
  readonly defs = new Map<string, Def>();
  constructor(readonly parent?: Env) {}
  type(name: string): Elem {
    return this.types.has(name) ? this.types.get(name) : this.parent?.type(name);
  }
  def(name: string): Def | undefined {
    return this.types.has(name) ? this.defs.get(name) : this.parent?.def(name);
  }
}

class Converter {
  readonly defs: Def[] = [];
  readonly info = new Map<NodeProto, NodeInfo>();
  readonly scopes = new Map<GraphProto, Env>();
  readonly wrappers = new Map<GraphProto, Graph>();
  readonly names: NameSet;
  readonly report: Float16Report = { converted: 0, clamped: [], tiny: [], float32Nodes: [], float32Tensors: [], duplicated: [], casts: 0, bytes: { before: 0, after: 0 } };
  readonly io: Prec;
  readonly blockOps: Set<string>;
  readonly blockNodes: Set<string>;
  readonly overflow: NonNullable<Float16Options['overflow']>;
  private readonly maxAbs = new Map<TensorProto, number>();

  constructor(readonly main: GraphProto, readonly opset: number, options: Float16Options) {
    this.io = options.keepIoTypes === false ? 16 : 32;
    this.blockOps = new Set(options.blockList ?? DEFAULT_FP16_BLOCK_LIST);
    this.blockNodes = new Set(options.blockNodes ?? []);
    this.overflow = options.overflow ?? 'auto';
    for (const op of ['If', 'Loop', 'Scan'])
      if (this.blockOps.has(op)) fail('BAD_OPTION', `${op} cannot be kept in float32 as a whole: block the ops inside its subgraphs instead.`);
    this.names = NameSet.of(main);
  }

  graph(g: GraphProto): Graph {
    let w = this.wrappers.get(g);
    if (!w) this.wrappers.set(g, (w = new Graph(g, this.names)));
    return w;
  }

  /** A name used nowhere in the model (subgraphs share the namespace). */
  fresh(base: string): string {
    return this.names.fresh(base);
  }

  // ---- 1. element types, float32 values and their readers, through every scope ----

  walk(g: GraphProto, parent: Env | undefined, inputTypes: Elem[] = []): Env {
    const scope = new Env(parent);
    this.scopes.set(g, scope);
    const declared = new Map<string, Elem>();
    for (const v of [...g.input, ...g.output, ...g.valueInfo]) {
      const t = declaredType(v);
      if (t) declared.set(v.name, t);
    }
    const inits = new Map(g.initializer.map((t) => [t.name, t]));
    g.input.forEach((v, i) => this.define(scope, g, v.name, declared.get(v.name) ?? inputTypes[i], 'input', undefined, 0, inits.get(v.name)));
    for (const t of g.initializer) if (!scope.types.has(t.name)) this.define(scope, g, t.name, t.dataType, 'init', undefined, 0, t);
    for (const node of g.node) {
      const ins = node.input.map((name) => (name ? scope.type(name) : undefined));
      node.input.forEach((name, slot) => name && scope.def(name)?.readers.push({ graph: g, node, slot }));
      const subOuts: Elem[][] = [];
      for (const a of node.attribute)
        for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
          const s = this.walk(sub, scope, subgraphInputTypes(node, ins, this.opset));
          subOuts.push(sub.output.map((o) => s.type(o.name)));
        }
      const isConst = node.opType === 'Constant' && isStandard(node);
      const value = isConst ? constantNodeValue(node) : undefined;
      const outs = outputTypes(node, ins, subOuts);
      const info: NodeInfo = { graph: g, kind: 'float16', outs: [], touchesFloat: node.input.some((i) => i && scope.def(i)) };
      this.info.set(node, info);
      node.output.forEach((o, slot) => {
        if (!o) return;
        const def = this.define(scope, g, o, declared.get(o) ?? outs[slot], value ? 'const' : 'node', node, slot, value);
        if (def && !value) info.outs.push(def);
      });
      info.touchesFloat ||= info.outs.length > 0;
    }
    for (const o of g.output) scope.def(o.name)?.readers.push({ graph: g, slot: g.output.indexOf(o), output: true });
    return scope;
  }

  define(scope: Env, g: GraphProto, name: string, type: Elem, kind: Def['kind'], producer: NodeProto | undefined, slot: number, tensor?: TensorProto): Def | undefined {
    scope.types.set(name, type);
    if (type !== DT.FLOAT) return undefined;
    const def: Def = { name, graph: g, kind, producer, slot, tensor, readers: [], orig: 16, natural: 16, versions: new Map() };
    scope.defs.set(name, def);
    this.defs.push(def);
    return def;
  }

  // ---- 2. which nodes stay float32 ----

  classify(): void {
    for (const [node, info] of this.info) {
      if (!info.touchesFloat) continue;
      const required = requiredFloat32(node, this.opset);
      if (required) Object.assign(info, { kind: 'required', reason: required });
      else if (this.blockOps.has(node.opType)) Object.assign(info, { kind: 'blocked', reason: `${node.opType} is in the float16 block list` });
      else if (this.blockNodes.has(node.name)) Object.assign(info, { kind: 'blocked', reason: 'named in blockNodes' });
      else {
        const big = this.overflowingInput(node, info.graph);
        if (big) Object.assign(info, { kind: 'blocked', reason: `its constant '${big.name}' exceeds float16's range (max |x| ${big.max.toPrecision(3)})` });
      }
    }
    // Shape arithmetic, from the last node back: a node whose float outputs only feed integer Casts,
    // non-data inputs (Resize scales, Range) or other shape arithmetic computes sizes, and stays exact.
    forEachGraph(this.main, (g) => {
      for (let i = g.node.length - 1; i >= 0; i--) {
        const node = g.node[i]!;
        const info = this.info.get(node)!;
        if (info.kind !== 'float16' || !SHAPE_OPS.has(node.opType) || !isStandard(node) || info.outs.length === 0) continue;
        if (info.outs.every((d) => this.shapeOnly(d)))
          Object.assign(info, { kind: 'shape', reason: 'its float outputs only feed integer Casts, Resize scales or Range (sizes, indices): kept exact in float32' });
      }
    });
  }

  /** A constant input beyond ±65504 that, under the overflow policy, keeps the node in float32. */
  overflowingInput(node: NodeProto, g: GraphProto): { name: string; max: number } | undefined {
    if (this.overflow === 'clamp') return undefined;
    const scope = this.scopes.get(g)!;
    for (const [slot, name] of node.input.entries()) {
      if (this.overflow === 'auto' && !shrinkingInput(node, slot)) continue;
      const d = name ? scope.def(name) : undefined;
      if (!d?.tensor || (d.kind !== 'init' && d.kind !== 'const')) continue;
      let max = this.maxAbs.get(d.tensor);
      if (max === undefined) {
        max = 0;
        for (const v of readFloat32(d.tensor)) if (Math.abs(v) > max && Math.abs(v) !== Infinity) max = Math.abs(v);
        this.maxAbs.set(d.tensor, max);
      }
      if (max > F16_MAX) return { name, max };
    }
    return undefined;
  }

  shapeOnly(d: Def): boolean {
    return (
      d.readers.length > 0 &&
      d.readers.every((r) => {
        if (!r.node || r.graph !== d.graph) return false; // a graph output, or read inside a subgraph
        if (r.node.opType === 'Cast' && !FLOAT_TYPES.has(attrInt(r.node, 'to', 0))) return true;
        if (r.node.opType === 'Shape' || r.node.opType === 'Size') return true;
        if (nonDataInput(r.node, r.slot, this.opset)) return true;
        return this.info.get(r.node)!.kind === 'shape';
      })
    );
  }

  /** The type a reader needs: 'any' for readers that take either (Cast, Shape). */
  want(r: Reader): Prec | 'any' {
    if (r.output) return r.graph === this.main ? this.io : 16;
    const n = r.node!;
    if (this.info.get(n)!.kind !== 'float16') return 32;
    if (isStandard(n)) {
      if (n.opType === 'Cast' || n.opType === 'Shape' || n.opType === 'Size' || (n.opType === 'CastLike' && r.slot === 0)) return 'any';
      if (nonDataInput(n, r.slot, this.opset) && (n.opType === 'Resize' || n.opType === 'Upsample')) return 32;
    } else if (normalDomain(n.domain) === 'com.microsoft' && (n.opType === 'GroupNorm' || n.opType === 'SkipGroupNorm') && (r.slot === 1 || r.slot === 2)) return 32;
    return 16;
  }

  // ---- 3. rewrite ----

  run(): void {
    for (const d of this.defs) this.place(d);
    for (const d of this.defs)
      for (const r of d.readers) {
        const w = this.want(r);
        const name = this.version(d, w === 'any' ? d.orig : w);
        if (r.output) {
          if (r.graph !== this.main) r.graph.output[r.slot]!.name = name; // subgraph outputs are positional
        } else this.graph(r.graph).setInput(r.node!, r.slot, name);
      }
    for (const [node, info] of this.info) if (info.kind === 'float16') this.convertAttributes(node);
    for (const [node, info] of this.info)
      if (info.kind !== 'float16') this.report.float32Nodes.push({ node: node.name || describeNode(node), op: node.opType, reason: info.reason! });
    this.retype();
  }

  /** Decides the type each value's own name carries, converts constants, and renames float32 producers. */
  place(d: Def): void {
    const mainOutput = d.graph === this.main && this.main.output.some((o) => o.name === d.name);
    if (d.kind === 'input') {
      d.natural = d.orig = d.graph === this.main ? this.io : 16;
      if (d.tensor && d.orig === 16) this.toFloat16(d.tensor, d.name); // an initializer listed as an input
      d.versions.set(d.orig, d.name);
      return;
    }
    if (d.kind === 'node') {
      const info = this.info.get(d.producer!)!;
      d.natural = info.kind !== 'float16' || float32Output(d.producer!, d.slot) ? 32 : 16;
      d.orig = mainOutput ? this.io : d.natural;
      d.versions.set(d.orig, d.name);
      if (d.natural !== d.orig) {
        const inner = this.fresh(`${d.name}_fp${d.natural}`);
        this.graph(d.graph).setOutput(d.producer!, d.slot, inner);
        d.versions.set(d.natural, inner);
        this.insertCast(d, inner, d.name, d.orig);
      }
      return;
    }
    // A constant: float16 if any reader computes in float16, float32 if all read it in float32.
    const wants = new Set(d.readers.filter((r) => !(r.output && r.graph === this.main)).map((r) => this.want(r)));
    d.orig = mainOutput ? this.io : wants.has(16) || wants.size === 0 ? 16 : 32;
    const other: Prec = d.orig === 16 ? 32 : 16;
    const needOther = wants.has(other);
    const original = needOther ? readFloat32(d.tensor!).slice() : undefined;
    if (d.orig === 16) this.setConstant(d, this.toFloat16(d.tensor!, d.name));
    else this.report.float32Tensors.push(d.name);
    d.versions.set(d.orig, d.name);
    if (!needOther) return;
    const copyName = this.fresh(`${d.name}_fp${other}`);
    const copy = makeTensor(d.kind === 'init' ? copyName : '', DT.FLOAT, tensorDims(d.tensor!), original!);
    if (other === 16) this.toFloat16(copy, copyName);
    if (d.kind === 'init') this.graph(d.graph).addInitializer(copy);
    else this.graph(d.graph).insertNodes([makeNode({ opType: 'Constant', inputs: [], outputs: [copyName], name: this.fresh(`${copyName}_const`), attrs: { value: copy } })], d.producer);
    d.versions.set(other, copyName);
    this.report.duplicated.push(d.name);
  }

  /** A Constant node whose value was given as value_float(s) now holds a float16 `value` tensor. */
  setConstant(d: Def, t: TensorProto): void {
    if (d.kind !== 'const' || getAttr(d.producer!, 'value')?.t === t) return;
    d.producer!.attribute = [makeAttr('value', t)];
  }

  /** The name under which `d` is available in type `p`, adding a Cast the first time. */
  version(d: Def, p: Prec): string {
    const have = d.versions.get(p);
    if (have) return have;
    const name = this.fresh(`${d.name}_fp${p}`);
    this.insertCast(d, d.versions.get(d.natural) ?? d.versions.get(d.orig)!, name, p);
    d.versions.set(p, name);
    return name;
  }

  insertCast(d: Def, from: string, to: string, p: Prec): void {
    const cast = makeNode({ opType: 'Cast', inputs: [from], outputs: [to], name: this.fresh(`${to}_cast`), attrs: { to: p === 16 ? DT.FLOAT16 : DT.FLOAT } });
    this.graph(d.graph).insertNodes([cast], d.kind === 'input' || d.kind === 'init' ? undefined : d.producer);
    this.info.set(cast, { graph: d.graph, kind: 'float16', outs: [], touchesFloat: true }); // its `to` is already final
    this.report.casts++;
  }

  /** Attributes that fix a float16 node's output type: Cast `to`, `dtype`, float tensors (ConstantOfShape's value). */
  convertAttributes(node: NodeProto): void {
    if (isStandard(node) && node.opType === 'Constant') return;
    const info = this.info.get(node)!;
    if (info.outs.length === 0) return;
    const std = isStandard(node);
    const dtype = std ? DTYPE_OUT[node.opType] : undefined;
    if (std && node.opType === 'Cast' && attrInt(node, 'to') === DT.FLOAT) setAttr(node, 'to', DT.FLOAT16);
    if (dtype && (attrInt(node, dtype[0]) ?? dtype[1]) === DT.FLOAT) setAttr(node, dtype[0], DT.FLOAT16);
    if (std && node.opType === 'ConstantOfShape' && !attrTensor(node, 'value'))
      setAttr(node, 'value', makeTensor('', DT.FLOAT16, [1], new Uint16Array(1))); // the default is a float32 zero
    for (const a of node.attribute) {
      const label = `${node.name || node.opType}.${a.name}`;
      if (a.t?.dataType === DT.FLOAT) this.toFloat16(a.t, label);
      for (const t of a.tensors) if (t.dataType === DT.FLOAT) this.toFloat16(t, label);
    }
  }

  /** Converts a float32 tensor in place, clamping into float16's range and counting what moved. */
  toFloat16(t: TensorProto, label: string): TensorProto {
    const src = readFloat32(t);
    const half = new Uint16Array(src.length);
    let over = 0;
    let maxAbs = 0;
    let tiny = 0;
    let minAbs = Infinity;
    for (let i = 0; i < src.length; i++) {
      let v = src[i]!;
      const a = Math.abs(v);
      if (a > F16_MAX && a !== Infinity) {
        over++;
        if (a > maxAbs) maxAbs = a;
        v = v > 0 ? F16_MAX : -F16_MAX;
      } else if (a < F16_MIN && a > 0) {
        tiny++;
        if (a < minAbs) minAbs = a;
        v = v > 0 ? F16_MIN : -F16_MIN;
      }
      half[i] = floatToHalf(v);
    }
    setRawData(t, DT.FLOAT16, makeTensor(t.name, DT.FLOAT16, tensorDims(t), half).rawData);
    if (over) this.report.clamped.push({ tensor: label, count: over, maxAbs });
    if (tiny) this.report.tiny.push({ tensor: label, count: tiny, minAbs });
    this.report.converted++;
    return t;
  }

  /** Declared types (inputs, outputs, value_info) follow the values. */
  retype(): void {
    forEachGraph(this.main, (g) => {
      const scope = this.scopes.get(g)!;
      for (const v of [...g.input, ...g.valueInfo]) {
        const d = scope.def(v.name);
        if (d && declaredType(v) === DT.FLOAT) setDeclaredType(v, d.orig === 16 ? DT.FLOAT16 : DT.FLOAT);
      }
      for (const v of g.output)
        if (declaredType(v) === DT.FLOAT) setDeclaredType(v, g === this.main ? (this.io === 16 ? DT.FLOAT16 : DT.FLOAT) : DT.FLOAT16);
    });
  }
}

/** Converts `model` to float16 in place (pass a prepared copy). */
export function exportFloat16(model: ModelProto, options: Float16Options = {}): Float16Report {
  const main = model.graph;
  if (!main) fail('BAD_MODEL', 'the model has no graph: there is nothing to convert to float16.');
  const c = new Converter(main, opsetVersion(model), options);
  let float32Tensors = 0;
  let float16Tensors = 0;
  forEachTensor(main, (t) => {
    c.report.bytes.before += tensorByteSize(t);
    if (t.dataType === DT.FLOAT) float32Tensors++;
    if (t.dataType === DT.FLOAT16) float16Tensors++;
  });
  forEachGraph(main, (g) => c.graph(g).sort());
  c.walk(main, undefined);
  if (c.defs.length === 0 && float32Tensors === 0)
    fail('BAD_MODEL', `the model has no float32 tensor (no float32 weight, input, output or intermediate value): there is nothing to convert to float16${float16Tensors ? '; it looks converted already' : ''}.`);
  c.classify();
  c.run();
  // A node's subgraphs may now read Casts of outer values: commit every body first, then let the
  // graph around it see what the node reads before it is sorted.
  forEachGraph(main, (g) => c.graph(g).commit());
  forEachGraph(main, (g) => {
    for (const n of g.node) if (hasSubgraphs(n)) c.graph(g).refresh(n);
  });
  forEachGraph(main, (g) => c.graph(g).sort());
  forEachTensor(main, (t) => (c.report.bytes.after += tensorByteSize(t)));
  return c.report;
}

/** Ops whose float arithmetic counts as shape arithmetic when all their float outputs only compute sizes. */
const SHAPE_OPS = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Sqrt', 'Neg', 'Abs', 'Sign', 'Reciprocal', 'Floor', 'Ceil', 'Round',
  'Min', 'Max', 'Clip', 'Sum', 'Mean', 'Cast', 'Identity', 'Concat', 'Slice', 'Gather', 'Squeeze', 'Unsqueeze',
  'Reshape', 'Flatten', 'Expand', 'Where', 'ConstantOfShape', 'ReduceProd', 'ReduceSum', 'ReduceMax', 'ReduceMin',
]);

/** Float inputs that are parameters, not data: Resize's roi and scales, Upsample's scales, Range's bounds, NMS thresholds. */
function nonDataInput(n: NodeProto, slot: number, opset: number): boolean {
  if (!isStandard(n)) return false;
  switch (n.opType) {
    case 'Resize':
      return opset >= 11 ? slot === 1 || slot === 2 : slot === 1;
    case 'Upsample':
      return slot === 1;
    case 'Range':
      return true;
    case 'NonMaxSuppression':
      return slot >= 3;
    default:
      return false;
  }
}

/** Inputs where a large value makes a small result: BatchNormalization's variance, a Div's divisor. */
function shrinkingInput(n: NodeProto, slot: number): boolean {
  if (!isStandard(n)) return false;
  return (n.opType === 'BatchNormalization' && slot === 4) || (n.opType === 'Div' && slot === 1);
}

/** Outputs that are float32 even when the node computes in float16 (LayerNormalization's mean and 1/σ). */
function float32Output(n: NodeProto, slot: number): boolean {
  const d = normalDomain(n.domain);
  return (d === '' && n.opType === 'LayerNormalization' && slot > 0) || (d === 'com.microsoft' && n.opType === 'SkipLayerNormalization' && (slot === 1 || slot === 2));
}

/** Why a node cannot compute in float16 at all (its type constraints), whatever the block list. */
function requiredFloat32(n: NodeProto, opset: number): string | undefined {
  const d = normalDomain(n.domain);
  if (d === 'ai.onnx.ml') return 'an ai.onnx.ml op: its type constraints have no float16';
  if (d !== '') return undefined;
  switch (n.opType) {
    case 'Range':
    case 'Celu':
    case 'NonMaxSuppression':
    case 'DynamicQuantizeLinear':
      return `${n.opType}'s type constraints have no float16`;
    case 'CumSum':
      return opset < 14 ? 'CumSum has no float16 before opset 14' : undefined;
    case 'QuantizeLinear':
    case 'DequantizeLinear':
      return opset < 19 ? `${n.opType} takes float32 scales only before opset 19` : undefined;
    default:
      return undefined;
  }
}

function declaredType(v: ValueInfoProto): Elem {
  const t = v.type?.value;
  if (t?.case === 'tensorType') return t.value.elemType || undefined;
  if (t?.case === 'sequenceType') {
    const e = t.value.elemType?.value;
    if (e?.case === 'tensorType') return e.value.elemType || undefined;
  }
  return undefined;
}

function setDeclaredType(v: ValueInfoProto, elem: number): void {
  const t = v.type?.value;
  if (t?.case === 'tensorType') t.value.elemType = elem;
  else if (t?.case === 'sequenceType' && t.value.elemType?.value.case === 'tensorType') t.value.elemType.value.value.elemType = elem;
}
