/**
 * A ConvTranspose whose kernel equals its stride (2-D, no padding, dilation 1, one group) builds each k×k
 * output block from one input pixel: it is a 1×1 Conv to C_out·k² channels followed by DepthToSpace(k, CRD),
 * the sub-pixel convolution of Shi et al. 2016 ("Real-Time Single Image and Video Super-Resolution Using an
 * Efficient Sub-Pixel Convolutional Neural Network"). Exact:
 *   y[o, h·k + i, w·k + j] = b[o] + Σ_c x[c, h, w]·W[c, o, i, j],  so  W′[(o·k + i)·k + j, c] = W[c, o, i, j], b′[(o·k + i)·k + j] = b[o].
 * onnxruntime's CPU provider has no integer ConvTranspose (its QDQ rules fuse Conv, MatMul, Gemm …, see
 * onnxruntime/core/optimizer/qdq_transformer/selectors_actions/qdq_selector_action_transformer.cc), so a
 * quantized ConvTranspose runs in float between a DequantizeLinear and a QuantizeLinear; the Conv runs as
 * QLinearConv. The DepthToSpace then moves past what works per channel or per element (BatchNormalization,
 * Add/Mul by a per-channel constant, Relu, Sigmoid …, constants repeated k² times), so that the folds put
 * those into the Conv; and a second such ConvTranspose that reads it takes it in — one 1×1 Conv on the
 * sub-pixel channels and one DepthToSpace(k₁·k₂) — because a uint8 DepthToSpace between two QLinearConvs
 * costs onnxruntime 1.30 more than the float ConvTranspose it replaces (PaddleOCR det's head: 1.3 ms for
 * 24×160×160, about 2 ns an element, plus a transpose on each side of it).
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrInt, attrInts, attrString, getAttr, isStandard, makeNode } from '../ir/node.js';
import { DT } from '../onnx/dtype.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { perChannel } from './weights.js';

/** Ops that act on each element alone: a DepthToSpace before them may as well come after. */
const ELEMENTWISE = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh']);

/** Rewrites the ConvTransposes that fit and that `wanted` accepts; returns how many. */
export function convTransposeAsConv(graph: Graph, wanted: (node: NodeProto) => boolean = () => true): number {
  let rewritten = 0;
  // In graph order, so that a first ConvTranspose's DepthToSpace has moved on before the second one looks for it.
  for (const ct of [...graph.nodes]) {
    const k = blockOf(graph, ct);
    if (k === undefined || !wanted(ct)) continue;
    takeBiasAdd(graph, ct);
    const w = readFloat32(graph.constant(ct.input[1]!)!);
    const [cin, cout] = tensorDims(graph.constant(ct.input[1]!)!) as [number, number];
    const bias = ct.input[2] ? readFloat32(graph.constant(ct.input[2])!) : undefined;
    // Reading a DepthToSpace(k₁, CRD) that nothing else reads: work on its input z, one block of k₁·k.
    const src = graph.producer(ct.input[0]!);
    const chained = !!src && src.opType === 'DepthToSpace' && isStandard(src) && attrString(src, 'mode', 'DCR') === 'CRD' && graph.consumers(ct.input[0]!).length === 1 && !graph.isGraphOutput(ct.input[0]!);
    const k1 = chained ? attrInt(src, 'blocksize', 1) : 1;
    const K = k1 * k;
    const zc = cin * k1 * k1;
    // Output channel (o·K + i₁·k + i)·K + j₁·k + j reads input channel (c·k₁ + i₁)·k₁ + j₁ with W[c, o, i, j].
    const w2 = new Float32Array(cout * K * K * zc);
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < cout; o++)
        for (let i1 = 0; i1 < k1; i1++)
          for (let j1 = 0; j1 < k1; j1++)
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const oc = (o * K + i1 * k + i) * K + j1 * k + j;
                w2[oc * zc + (c * k1 + i1) * k1 + j1] = w[((c * cout + o) * k + i) * k + j]!;
              }
    const base = ct.name || ct.output[0]!;
    const weightName = graph.uniqueName(`${ct.input[1]}_subpixel`);
    graph.addInitializer(floatTensor(weightName, [cout * K * K, zc, 1, 1], w2));
    const inputs = [chained ? src.input[0]! : ct.input[0]!, weightName];
    if (bias) {
      const biasName = graph.uniqueName(`${base}_bias_subpixel`);
      graph.addInitializer(floatTensor(biasName, [cout * K * K], repeatChannels(bias, K * K)));
      inputs.push(biasName);
    }
    const y = ct.output[0]!;
    const sub = graph.uniqueName(`${y}_subpixel`);
    const conv = makeNode({ opType: 'Conv', name: graph.uniqueName(`${base}_subpixel`), inputs, outputs: [sub], attrs: { kernel_shape: [1, 1] } });
    const d2s = makeNode({ opType: 'DepthToSpace', name: graph.uniqueName(`${base}_depth_to_space`), inputs: [sub], outputs: [y], attrs: { blocksize: K, mode: 'CRD' } });
    graph.removeNode(ct);
    if (chained) graph.removeNode(src);
    graph.insertNodes([conv, d2s]);
    moveForward(graph, d2s, K);
    rewritten++;
  }
  if (rewritten) {
    graph.sort();
    graph.removeUnused();
  }
  return rewritten;
}

/** The block size k of a ConvTranspose this pass rewrites, else undefined. */
function blockOf(graph: Graph, ct: NodeProto): number | undefined {
  if (ct.opType !== 'ConvTranspose' || !isStandard(ct) || !ct.output[0]) return undefined;
  const weight = graph.constant(ct.input[1]!);
  if (!weight || weight.dataType !== DT.FLOAT) return undefined;
  const dims = tensorDims(weight);
  if (dims.length !== 4 || dims[2] !== dims[3]) return undefined;
  const k = dims[2]!;
  const bias = ct.input[2] ? graph.constant(ct.input[2]) : undefined;
  if (ct.input[2] && (!bias || bias.dataType !== DT.FLOAT)) return undefined;
  const all = (name: string, value: number) => (attrInts(ct, name) ?? []).every((v) => v === value);
  const strides = attrInts(ct, 'strides') ?? [1, 1];
  const kernel = attrInts(ct, 'kernel_shape') ?? [k, k];
  const autoPad = attrString(ct, 'auto_pad', 'NOTSET');
  const fits =
    attrInt(ct, 'group', 1) === 1 && strides.length === 2 && strides.every((s) => s === k) && kernel.every((s) => s === k) &&
    all('dilations', 1) && all('pads', 0) && all('output_padding', 0) && !getAttr(ct, 'output_shape') && (autoPad === 'NOTSET' || autoPad === 'VALID');
  return fits ? k : undefined;
}

/** A ConvTranspose without bias whose only reader adds a per-channel constant (Paddle writes the bias so) takes it as its bias. */
function takeBiasAdd(graph: Graph, ct: NodeProto): void {
  const y = ct.output[0]!;
  const readers = graph.consumers(y);
  if (ct.input[2] || readers.length !== 1 || graph.isGraphOutput(y)) return;
  const add = readers[0]!;
  if (add.opType !== 'Add' || !isStandard(add)) return;
  const other = add.input[0] === y ? add.input[1]! : add.input[0]!;
  const c = graph.constant(other);
  const cout = tensorDims(graph.constant(ct.input[1]!)!)[1]!;
  const values = c && c.dataType === DT.FLOAT ? perChannel(c, cout, 4) : undefined;
  if (!values || add.input[0] === add.input[1]) return;
  const name = graph.uniqueName(`${ct.name || y}_bias`);
  graph.addInitializer(floatTensor(name, [cout], values));
  const out = add.output[0]!;
  graph.removeNode(add);
  graph.setInput(ct, 2, name);
  graph.setOutput(ct, 0, out);
}

/** Moves the DepthToSpace past its only reader while that reader works per channel or per element. */
function moveForward(graph: Graph, d2s: NodeProto, K: number): void {
  for (;;) {
    const y = d2s.output[0]!;
    const readers = graph.consumers(y);
    if (readers.length !== 1 || graph.isGraphOutput(y)) return;
    const n = readers[0]!;
    if (!isStandard(n) || n.input[0] !== y || n.output.filter(Boolean).length !== 1) return;
    const sub = d2s.input[0]!;
    const channels = channelsOf(graph, d2s, K);
    if (channels === undefined) return;
    if (ELEMENTWISE.has(n.opType)) {
      // Clip's bounds and the activations' attributes hold for every element alike.
    } else if (n.opType === 'BatchNormalization' && !attrInt(n, 'training_mode', 0)) {
      const params = n.input.slice(1, 5).map((p) => graph.constant(p));
      if (params.length !== 4 || params.some((p) => !p || p.dataType !== DT.FLOAT || readFloat32(p).length !== channels)) return;
      graph.setInputs(n, [sub, ...params.map((p, i) => expandedConstant(graph, `${n.input[i + 1]}_subpixel`, readFloat32(p!), K, [channels * K * K]))]);
    } else if ((n.opType === 'Add' || n.opType === 'Mul') && n.input.length === 2) {
      const c = graph.constant(n.input[1]!);
      const values = c && c.dataType === DT.FLOAT ? perChannel(c, channels, 4) : undefined;
      if (!values) return;
      graph.setInputs(n, [sub, expandedConstant(graph, `${n.input[1]}_subpixel`, values, K, [1, channels * K * K, 1, 1])]);
    } else return;
    graph.setInput(n, 0, sub);
    const out = n.output[0]!;
    // The op now computes the sub-pixel layout: a new value, under a new name.
    graph.setOutput(n, 0, graph.uniqueName(`${out}_subpixel`));
    graph.setOutput(d2s, 0, out);
    graph.setInput(d2s, 0, n.output[0]!);
  }
}

/** Channels after the DepthToSpace: its input's channels ÷ K², from the Conv this pass wrote before it. */
function channelsOf(graph: Graph, d2s: NodeProto, K: number): number | undefined {
  // Walk back through the moved per-element ops to the sub-pixel Conv, whose weight says C_out·K².
  let p = graph.producer(d2s.input[0]!);
  while (p && p.opType !== 'Conv') p = graph.producer(p.input[0]!);
  const w = p ? graph.constant(p.input[1]!) : undefined;
  return w ? tensorDims(w)[0]! / (K * K) : undefined;
}

function repeatChannels(values: Float32Array, times: number): Float32Array {
  const out = new Float32Array(values.length * times);
  for (let c = 0; c < out.length; c++) out[c] = values[Math.floor(c / times)]!;
  return out;
}

function expandedConstant(graph: Graph, base: string, values: Float32Array, K: number, dims: number[]): string {
  const name = graph.uniqueName(base);
  graph.addInitializer(floatTensor(name, dims, repeatChannels(values, K * K)));
  return name;
}
