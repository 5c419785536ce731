/**
 * The checks a model passes before onnxq works on it, so that a broken input is refused with its
 * fault named rather than "quantized" into an output onnxruntime cannot load: versions onnxruntime
 * reads, every value produced once, every node input defined (in its graph or an enclosing one),
 * Constant nodes with a value, and every tensor with a known element type, a valid shape and as
 * much data as that shape needs. One walk over the graph and its subgraphs.
 */
import { TensorProto_DataLocation, type GraphProto, type ModelProto, type TensorProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { DT, dtypeBits, dtypeName } from '../onnx/dtype.js';
import { externalOf } from '../onnx/external.js';
import { isStandard } from './node.js';

/** The newest versions onnxruntime 1.30, which onnxq runs models on, reads. */
const MAX_IR_VERSION = 13;
const MAX_OPSET = 26;

/** Which input of each convolution is its weight. */
const CONV_WEIGHT_INPUT: Record<string, number> = { Conv: 1, ConvTranspose: 1, ConvInteger: 1, QLinearConv: 3 };
const CONSTANT_VALUES = new Set(['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings', 'sparse_value']);

export function checkModel(model: ModelProto, source: string): void {
  const bad = (what: string) => fail('BAD_MODEL', `${source}: ${what}`);
  const ir = Number(model.irVersion);
  if (!(ir >= 1 && ir <= MAX_IR_VERSION)) bad(`IR version ${model.irVersion} is not one onnxruntime reads (1…${MAX_IR_VERSION}). Export the model again with a current exporter.`);
  for (const o of model.opsetImport) {
    const v = Number(o.version);
    if (isStandard(o) && !(v >= 1 && v <= MAX_OPSET))
      bad(`it imports opset ${o.version} of the default domain; onnxruntime reads opsets 1…${MAX_OPSET}. Export the model again, or convert it to opset ${MAX_OPSET} or lower.`);
  }
  checkGraph(model.graph!, undefined, bad);
}

/** A graph's names, and the enclosing graph's: a subgraph may read values of the graphs around it. */
interface Names {
  here: Set<string>;
  outer?: Names;
}

const defines = (names: Names | undefined, name: string): boolean => {
  for (let n = names; n; n = n.outer) if (n.here.has(name)) return true;
  return false;
};

function checkGraph(graph: GraphProto, outer: Names | undefined, bad: (what: string) => never): void {
  // Each graph holds its own names and looks outward through the chain: no copy of the enclosing
  // names per subgraph, so many If/Loop bodies cost time in proportion to their own size.
  const names: Names = { here: new Set(), ...(outer ? { outer } : {}) };
  const define = (name: string, what: string) => {
    notLossy(name, what, bad);
    if (names.here.has(name)) bad(`the name '${name}' is given to more than one value (${what}); each value must be produced once. The model file is damaged or was edited by hand.`);
    names.here.add(name);
  };
  for (const t of graph.initializer) {
    checkTensor(t, bad);
    define(t.name, 'an initializer');
  }
  for (const s of graph.sparseInitializer) if (s.values) define(s.values.name, 'a sparse initializer');
  // Before IR 4 every initializer is listed among the graph inputs too: that is the same value.
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  for (const v of graph.input) if (!initializers.has(v.name) && !names.here.has(v.name)) define(v.name, 'a graph input');
  for (const node of graph.node) for (const o of node.output) if (o) define(o, `an output of node '${node.name}'`);
  for (const node of graph.node) {
    for (const i of node.input)
      if (i && !defines(names, i))
        bad(`node '${node.name}' (${node.opType}) reads '${i}', which no node, initializer or graph input produces. The model file is damaged or incomplete.`);
    const at = isStandard(node) ? CONV_WEIGHT_INPUT[node.opType] : undefined;
    const weight = at === undefined ? undefined : initializers.get(node.input[at] ?? '');
    if (weight && weight.dims.length < 3)
      bad(`node '${node.name}' (${node.opType}) has weight '${weight.name}' of shape [${weight.dims.join(', ')}]; a convolution's weight has at least 3 dimensions (output channels, input channels per group, kernel). The model file is damaged.`);
    if (node.opType === 'Constant' && isStandard(node) && node.attribute.filter((a) => CONSTANT_VALUES.has(a.name)).length !== 1)
      bad(`Constant node '${node.name}' must hold exactly one value attribute; it has ${node.attribute.map((a) => a.name).join(', ') || 'none'}.`);
    for (const a of node.attribute) {
      if (a.t) checkTensor(a.t, bad);
      for (const t of a.tensors) checkTensor(t, bad);
      if (a.g) checkGraph(a.g, names, bad);
      for (const g of a.graphs) checkGraph(g, names, bad);
    }
  }
}

/**
 * Protobuf strings must be UTF-8; the decoder turns any other bytes into U+FFFD, so two names that
 * differed only there would become one value. Refused rather than merged (a name really spelled with
 * U+FFFD is refused too, the price of telling them apart).
 */
function notLossy(name: string, what: string, bad: (what: string) => never): void {
  if (name.includes('\ufffd'))
    bad(`the name of ${what}, '${name}', holds bytes that are not UTF-8 (shown as \ufffd); ONNX names are UTF-8 text. Rename it in the exporter.`);
}

/** Values a typed field holds per element: two for complex numbers, half for packed 4-bit types. */
function typedCount(t: TensorProto, n: number): number {
  if (t.dataType === DT.COMPLEX64 || t.dataType === DT.COMPLEX128) return 2 * n;
  if (t.dataType === DT.INT4 || t.dataType === DT.UINT4) return Math.ceil(n / 2);
  return n;
}

function checkTensor(t: TensorProto, bad: (what: string) => never): void {
  const name = `tensor '${t.name}'`;
  if (t.dataType === DT.UNDEFINED || DT[t.dataType] === undefined)
    bad(`${name} has element type ${t.dataType}, which is not an ONNX type onnxq knows. The model file is damaged, or newer than onnxq.`);
  let n = 1;
  for (const d of t.dims) {
    const v = Number(d);
    if (!Number.isSafeInteger(v) || v < 0) bad(`${name} has dimension ${d}; dimensions are whole numbers ≥ 0. The model file is damaged.`);
    n *= v;
  }
  if (!Number.isSafeInteger(n)) bad(`${name} has shape [${t.dims.join(', ')}], ${n} values: more than any model can hold. The model file is damaged.`);
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL || externalOf(t)) return; // sized against its file when located (onnx/codec.ts)
  const bits = dtypeBits(t.dataType);
  // Types onnxq has no size for (those newer than it, like float4e2m1) are left to onnxruntime.
  if (!bits && t.dataType !== DT.STRING) return;
  const shape = `${dtypeName(t.dataType)} [${t.dims.join(', ')}]`;
  if (t.rawData.length > 0) {
    if (bits && t.rawData.length !== Math.ceil((n * bits) / 8))
      bad(`${name} (${shape}) takes ${Math.ceil((n * bits) / 8)} bytes, but holds ${t.rawData.length}. The model file is damaged.`);
    return;
  }
  const held = t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length + t.stringData.length;
  if (held !== typedCount(t, n)) bad(`${name} (${shape}) takes ${typedCount(t, n)} values, but holds ${held}. The model file is damaged.`);
}
